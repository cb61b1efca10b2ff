"""voice-transcriber plugin package (work in progress)."""
