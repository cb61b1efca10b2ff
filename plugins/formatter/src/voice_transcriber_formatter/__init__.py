"""voice-transcriber formatters: turn raw speech-to-text output into the text a person meant to write.

Each module is a plugin of its own (an entry point in the ``voice_transcriber`` group), so a
single formatter can be left out with ``VOICE_TRANSCRIBER_DISABLE_PLUGINS=formatter-llm``:

- ``llm`` — an OpenAI-compatible chat model, with guard rails (:mod:`.llm`, :mod:`.llm_reply`);
- offline rules: ``punctuation``, ``fillers``, ``replace``, ``hallucinations``, ``trim``,
  ``numbers``, ``commands``, ``vocabulary``, and ``command`` (:mod:`.external`).

Language word lists live in ``data/<code>.json``.
"""
