"""Live typing into real windows: partial text typed as it comes, corrected with backspaces to the final text.

X11: a Tk text window under Xvfb (xdotool). Wayland: a foot terminal under headless sway (wtype),
whose line discipline applies the backspaces before the line is read back.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time

import pytest

from voice_transcriber import DeliveredElsewhere, RunContext, Transcript
from voice_transcriber.config import load_settings
from voice_transcriber_clipboard.keys import KeyTool, VirtualKeys
from voice_transcriber_clipboard.xtest import XTest
from voice_transcriber_typing.sink import TypingSink
from vt_testing.core import run_in_process
from vt_testing.desktop import wait_until
from vt_testing.sway import sway_key
from vt_testing.x11 import tk_window

FAST = {"startDelay": 0, "keyDelayMs": 4}
UNICODE_STEPS = ["ok 😀👍 café —", "ok 😀 cafés"]
UNICODE_FINAL = "ok 😀 cafés, naïve."


@pytest.fixture
def typing_sink(isolated_dirs):
    def make(**config) -> TypingSink:
        return TypingSink(RunContext(load_settings(overrides={"output.typing": {**FAST, **config}})))

    return make


@pytest.fixture
def backspaces(monkeypatch) -> list[int]:
    """Every ``KeyTool.backspace(count)`` call's count, in order (the keys are still really sent)."""
    counts: list[int] = []
    for cls in (KeyTool, XTest, VirtualKeys):
        def counting(self, count, real=cls.backspace):
            counts.append(count)
            return real(self, count)

        monkeypatch.setattr(cls, "backspace", counting)
    return counts


def deliver(sink: TypingSink, text: str) -> None:
    sink.deliver(text, Transcript(text=text, backend="test"))


def test_partial_text_is_typed_then_corrected_to_the_final_text(x_window, typing_sink, backspaces):
    sink = typing_sink()
    sink.show_partial("hello wor")
    assert x_window.wait_for("hello wor") == "hello wor", "the partial text is typed before the final text exists"
    sink.show_partial("hello world this")
    assert x_window.wait_for("hello world this") == "hello world this"
    deliver(sink, "Hello world, this.")
    assert x_window.settle() == "Hello world, this."
    assert backspaces == [16], "growing text needs no backspace; the capital H needs all 16 characters retyped"


def test_corrections_across_emoji_accents_and_dashes_are_exact(x_window, typing_sink, backspaces):
    sink = typing_sink()
    for step in UNICODE_STEPS:
        sink.show_partial(step)
        assert x_window.wait_for(step) == step
    deliver(sink, UNICODE_FINAL)
    assert x_window.settle() == UNICODE_FINAL
    assert backspaces == [8], "👍 café — is 8 characters; the rest is typed on"


def test_partial_text_without_a_final_text_is_taken_back(x_window, typing_sink):
    sink = typing_sink()
    sink.show_partial("thank you")
    assert x_window.wait_for("thank you") == "thank you"
    sink.show_partial("")  # what the core does when nothing is left to deliver
    assert x_window.wait_for("") == ""


def test_backspaces_never_reach_a_window_that_took_the_focus(x_window, x11, typing_sink, tmp_path, backspaces):
    sink = typing_sink()
    sink.show_partial("hello wor")
    assert x_window.wait_for("hello wor") == "hello wor"
    with tk_window(x11.display, tmp_path, title="VT_OTHER_WINDOW") as other:
        subprocess.run(["xdotool", "type", "--delay", "5", "my own words"], check=True, timeout=10)
        sink.show_partial("Hello world")
        with pytest.raises(DeliveredElsewhere, match="whole text is on the clipboard") as raised:
            deliver(sink, "Hello world.")
        assert raised.value.exit_code == 3 and raised.value.outcome == "partly"
        time.sleep(0.3)
        assert other.text() == "my own words", "nothing was typed or deleted there"
    assert x_window.text() == "hello wor"
    assert backspaces == []
    clipboard = subprocess.run(["xclip", "-selection", "clipboard", "-o"], capture_output=True, timeout=5).stdout
    assert clipboard.decode() == "Hello world.", "the final text waits on the clipboard"


def test_live_cli_types_the_first_phrase_before_the_end_and_ends_with_exactly_the_final_text(
        x_window, jfk_path, tiny_model_dir):
    seen: list[str] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            text = x_window.text()
            if not seen or text != seen[-1]:
                seen.append(text)
            time.sleep(0.02)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    env = {"VOICE_TRANSCRIBER_TRANSCRIPTION__LOCAL__MODEL": str(tiny_model_dir),
           "VOICE_TRANSCRIBER_TRANSCRIPTION__LOCAL__BEAM_SIZE": "1",
           "VOICE_TRANSCRIBER_OUTPUT__TYPING__START_DELAY": "0", "VOICE_TRANSCRIBER_OUTPUT__TYPING__KEY_DELAY_MS": "4",
           # the formatted text differs from the last partial text at its end: a correction is needed
           "VOICE_TRANSCRIBER_FORMATTER__REPLACEMENTS": json.dumps(
               {"rules": [{"from": r"country\.?$", "to": "country!", "regex": True}]})}
    # In this process (the typing and its timing are the point, not the process: ~0.8 CPU-s less, the model shared)
    result = run_in_process("transcribe", str(jfk_path), "--backend", "local", "--output", "typing,stdout", "--live",
                            "--format", "replace", env=env)
    final = x_window.settle()
    done.set()
    watcher.join()
    assert result.returncode == 0, result.stderr.decode()
    assert final == result.stdout.decode().rstrip("\n"), "the window holds exactly the delivered text"
    assert "ask not what your country" in final.lower() and final.endswith("country!")
    intermediate = [text for text in seen if text and text != final]
    assert any("country can do for you" in text.lower() and "ask what you can do" not in text.lower()
               for text in intermediate), f"the first phrase was typed before the second: {seen}"


def test_wayland_live_typing_into_foot_is_corrected_before_the_line_is_read(foot_window, typing_sink, backspaces):
    sink = typing_sink(keyDelayMs=10)
    for step in ["hello wor", "hello world this", *UNICODE_STEPS]:
        sink.show_partial(step)
    deliver(sink, "Hello world, " + UNICODE_FINAL)
    sway_key("Return")
    assert foot_window.wait_for(f"Hello world, {UNICODE_FINAL}\n") == f"Hello world, {UNICODE_FINAL}\n"
    assert backspaces and all(count > 0 for count in backspaces)


def test_live_typing_while_recording_shows_the_first_phrases_before_the_stop(
        x_window, pulse, tiny_model_dir, espeak_passage, isolated_dirs, tmp_path):
    from vt_testing.recorder import RecordingProcess

    wav, _, _ = espeak_passage(5)  # two sentences with a pause
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    env = {**pulse.env, "XDG_RUNTIME_DIR": str(runtime),
           "VOICE_TRANSCRIBER_TRANSCRIPTION__LOCAL__MODEL": str(tiny_model_dir),
           "VOICE_TRANSCRIBER_TRANSCRIPTION__LOCAL__BEAM_SIZE": "1",
           "VOICE_TRANSCRIBER_OUTPUT__TYPING__START_DELAY": "0"}
    rec = RecordingProcess("--backend", "local", "--output", "typing,stdout", "--live", env=env)
    rec.wait_for_open_wav()
    speaker = pulse.play(wav)
    try:  # the stop comes once the first phrase is in the window: the second is still being spoken
        wait_until(lambda: "meeting" in x_window.text().lower() or speaker.poll() is not None and
                   speaker.returncode != 0, 30, "the first phrase in the window")
    finally:
        typed_while_recording = x_window.text()
        rec.signal(signal.SIGUSR1)
        speaker.terminate()
        speaker.wait(timeout=10)
    code, out, err = rec.finish(timeout=60)

    assert code == 0, err
    assert "meeting" in typed_while_recording.lower(), "the first phrase was typed while recording"
    assert x_window.settle() == out.rstrip("\n"), "the window ends with exactly the delivered text"
