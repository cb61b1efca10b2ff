"""The ``voice-transcriber`` executable (also ``python -m voice_transcriber``).

When the command line records, the microphone opens here, before click, pydantic and
the plugins are imported (about 0.3 s), so speech starting right away is not lost.
"""

from __future__ import annotations

import sys


def main() -> None:
    argv = sys.argv[1:]
    from .daemon.client import fast_path

    fast_path(argv)  # a hotkey command with a daemon running: it acts, and this exits here
    try:
        from .capture import early

        early.start(argv)
        from .cli import main as cli_main
    except KeyboardInterrupt:  # cancelled (Ctrl-C twice, SIGUSR2) while still starting up
        sys.stderr.write("voice-transcriber: error: cancelled\n")
        sys.exit(130)
    cli_main(argv)


if __name__ == "__main__":
    main()
