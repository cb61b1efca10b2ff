"""voice-transcriber plugin: the ``clipboard`` sink, and the desktop toolkit other sinks build on.

Public modules (importable by other plugins, e.g. the typing sink and profiles):

* :mod:`.tools` — session detection (``detect_session``), running tools safely (``run_tool``),
  ``keep_text`` (print undelivered text to stderr).
* :mod:`.keys` — sending chords and typing with XTest (:mod:`.xtest`), xdotool, our virtual keyboard (:mod:`.vkeyboard`), wtype or ydotool (``key_tool``).
* :mod:`.selection` — clipboard/primary with wl-copy, xclip or xsel (``copy_verified``).
* :mod:`.window` — ``active_window() -> WindowInfo | None`` (class and title of the focused window).
* :mod:`.paste` — ``Clipboard`` (copy, paste with the chord for the focused window), ``around_keys``.
"""
