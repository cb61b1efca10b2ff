"""The target window under headless sway (our virtual keyboard): a focus change mid-text stops within one burst,
the rest goes to the clipboard; an empty workspace is no window (issue 21 rows 2 and 3)."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path

import pytest

from voice_transcriber import DeliveredElsewhere, RunContext, Transcript
from voice_transcriber.config import load_settings
from voice_transcriber_typing.sink import TypingSink
from vt_testing.desktop import READ_LINES, shell_ready, stop, wait_until
from vt_testing.sway import sway_focused_app, sway_key

BURST = 4
TEXT = "ask not what your country can do for you, ask what you can do for your country"


def sink(**typing) -> TypingSink:
    return TypingSink(RunContext(load_settings(overrides={
        "output.typing": {"startDelay": 0, "keyDelayMs": 20, "burstChars": BURST, **typing}})))


def swaymsg(session, command: str) -> None:
    subprocess.run(["swaymsg", "-s", session.swaysock, command], check=True, capture_output=True, timeout=10)


def paste() -> str:
    return subprocess.run(["wl-paste", "--no-newline"], capture_output=True, timeout=5).stdout.decode()


def test_focus_change_mid_text_stops_within_one_burst(foot_window, wayland, monkeypatch):
    from voice_transcriber_clipboard.keys import VirtualKeys

    bursts: list[str] = []
    real_type = VirtualKeys.type

    def counting(self, text):  # the keys are really sent; the test only learns how far typing got
        result = real_type(self, text)
        bursts.append(text)
        return result

    monkeypatch.setattr(VirtualKeys, "type", counting)
    other_out = Path(wayland.runtime_dir, f"other-{time.monotonic_ns()}.txt")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": wayland.runtime_dir, "LANG": "C.UTF-8",
           "XDG_RUNTIME_DIR": wayland.runtime_dir, "WAYLAND_DISPLAY": wayland.wayland_display}
    other = wayland.spawn(["foot", "--app-id", "vt-foot-other", "sh", "-c", READ_LINES, str(other_out)], env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: sway_focused_app(wayland) == "vt-foot-other", 10, "the other foot to get the focus")
        wait_until(lambda: shell_ready(other_out), 15, "the shell in the other foot to set up its tty")
        swaymsg(wayland, "[app_id=vt-foot-target] focus")
        errors: list[BaseException] = []

        def deliver() -> None:
            try:
                sink().deliver(TEXT, Transcript(text=TEXT, backend="test"))
            except BaseException as exc:  # noqa: BLE001 - handed to the test
                errors.append(exc)

        thread = threading.Thread(target=deliver)
        thread.start()
        wait_until(lambda: len(bursts) >= 2 or errors, 30, "two bursts typed")  # mid-text
        swaymsg(wayland, "[app_id=vt-foot-other] focus")
        thread.join(60)
        assert len(errors) == 1 and isinstance(errors[0], DeliveredElsewhere), errors
        assert errors[0].outcome == "partly" and "vt-foot-other" in str(errors[0]), errors[0]
        rest = paste()
        sway_key("Return")  # ends the other's line
        wait_until(lambda: other_out.exists(), 5, "the other window's line")
        leaked = other_out.read_text().rstrip("\n")
        swaymsg(wayland, "[app_id=vt-foot-target] focus")
        sway_key("Return")
        typed = foot_window.settle().rstrip("\n")
        assert len(leaked) <= BURST, f"more than one burst reached the other window: {leaked!r}"
        assert typed and typed + leaked + rest == TEXT
    finally:
        stop(other, group=True)


def test_empty_sway_workspace_is_no_window(wayland):
    swaymsg(wayland, "workspace 9")
    try:
        with pytest.raises(DeliveredElsewhere, match="no window had the focus"):
            sink().deliver("for nobody", Transcript(text="for nobody", backend="test"))
        assert paste() == "for nobody"
    finally:
        swaymsg(wayland, "workspace 1")
