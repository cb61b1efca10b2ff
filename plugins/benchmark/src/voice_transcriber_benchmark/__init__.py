"""voice-transcriber benchmark: backends side by side on the same audio."""
