"""voice-transcriber's tray icon: a StatusNotifierItem that shows each run's state and records on a click."""
