"""voice-transcriber plugin: the ``typing`` and ``auto`` sinks.

Public modules: :mod:`.typer` (``type_text``, ``TypingConfig``), :mod:`.live` (``LiveTyping``, ``edit``), :mod:`.window`
(``active_window() -> WindowInfo | None``), :mod:`.sink` (``should_type``).
"""
