"""Ctrl-C at any moment of a command's start-up ends it with the cancelled line and exit 130, never a traceback.

The window before a command installs its own handling is a few tens of milliseconds: too short to hit
with a real signal deterministically, so the interrupt is raised in-process at each step the entry point
takes before click (the daemon's fast path, the hotkey path, a quick handler, the early microphone).
"""

from __future__ import annotations

import pytest

from voice_transcriber import __main__ as entry
from voice_transcriber import quick
from voice_transcriber.capture import early
from voice_transcriber.daemon import client
from voice_transcriber.errors import EXIT_CANCELLED


def interrupt(*_args, **_kwargs):
    raise KeyboardInterrupt


@pytest.mark.parametrize(("module", "name", "argv"), [
    (client, "fast_path", ["toggle"]),
    (quick, "run", ["rofi"]),
    (early, "start", ["transcribe", "x.wav"]),
])
def test_ctrl_c_while_starting_up_prints_cancelled_and_exits_130(monkeypatch, capsys, module, name, argv):
    monkeypatch.setattr(module, name, interrupt)
    monkeypatch.setattr("sys.argv", ["voice-transcriber", *argv])
    with pytest.raises(SystemExit) as exit_info:
        entry.main()
    assert exit_info.value.code == EXIT_CANCELLED
    captured = capsys.readouterr()
    assert captured.err == "voice-transcriber: error: cancelled\n"
    assert "Traceback" not in captured.out + captured.err
