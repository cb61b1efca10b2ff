"""``python -m voice_transcriber``: the same as the ``voice-transcriber`` command."""

from .cli import main

main()
