"""Test helpers for voice-transcriber plugins: the ones voice-transcriber's own test suite uses.

A plugin's test runs its component through the real pipeline, offline, in directories of its own::

    from voice_transcriber.testing import SPEECH_SAMPLE_TEXT, dictate, speech_sample

    def test_shout_upper_cases_the_dictation():
        result = dictate(speech_sample(), backend="fake", format="shout")
        assert result.text == SPEECH_SAMPLE_TEXT.upper()

What is here:

- :func:`speech_sample`: an 11 s recording of real speech (16 kHz mono FLAC, public domain) and
  :data:`SPEECH_SAMPLE_TEXT`, what is said in it.
- Fake components, registered by :class:`FakePlugin`: the ``fake`` backend (decodes the audio, then
  "hears" :data:`SPEECH_SAMPLE_TEXT` or the text you give), ``fake-duration`` (says how long the audio
  is), the ``fake-upper`` formatter and the ``fake-list`` sink (keeps what it receives).
- :func:`dictate`: one run of the real ``transcribe`` command with the installed plugins plus the fakes
  (and any plugin object you pass), returning a :class:`Dictation` (text, what each sink got, events).
  :func:`make_plugin_manager` and :func:`invoke` are its parts, for a test that needs another command.
- :func:`isolated_environment`: fresh XDG config/state/cache/data/runtime directories and no
  ``VOICE_TRANSCRIBER_*`` variables, for the duration of a ``with`` block; :func:`write_config` writes
  a config.json there.
- ``voice_transcriber.testing.pytest_plugin``: the same as pytest fixtures, every test isolated
  (``pytest_plugins = ["voice_transcriber.testing.pytest_plugin"]`` in your ``conftest.py``).

Importing this package costs nothing at the tool's start-up: only tests import it.
"""

from __future__ import annotations

from .dictation import Dictation, dictate, invoke, make_plugin_manager
from .environment import isolated, isolated_environment, isolation, write_config
from .fakes import DurationBackend, FakeBackend, FakePlugin, ListSink, UpperFormatter
from .sample import SPEECH_SAMPLE_TEXT, speech_sample

__all__ = [
    "SPEECH_SAMPLE_TEXT",
    "Dictation",
    "DurationBackend",
    "FakeBackend",
    "FakePlugin",
    "ListSink",
    "UpperFormatter",
    "dictate",
    "invoke",
    "isolated",
    "isolated_environment",
    "isolation",
    "make_plugin_manager",
    "speech_sample",
    "write_config",
]
