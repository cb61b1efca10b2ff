"""``voice-transcriber tray`` against a real tray host: xfce4-panel under Xvfb on a private session bus.

The item is read and driven with ``gdbus`` (not our code); the microphone is the
PulseAudio virtual mic; the transcript is read back from the X clipboard with ``xclip``.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from voice_transcriber_tray import autostart, icons
from vt_testing.daemon import VT, DaemonWorld
from vt_testing.desktop import require, stop, wait_until
from vt_testing.recorder import heard_until_now
from vt_testing.openai_api import json_reply, openai_transcription
from vt_testing.tool_stubs import run_in_process
from vt_testing.tray import TrayHost, start_tray_host

SENTENCE = "Please send the report by Friday."


def test_icons_are_argb32_in_network_byte_order():
    for state, ((red, green, blue), _) in icons.STYLES.items():
        pixels = icons.pixmap(state, 32)
        assert len(pixels) == 32 * 32 * 4
        assert pixels[:4] == b"\0\0\0\0"  # a transparent corner
        edge = (16 * 32 + 2) * 4  # on the disc's rim, left of the glyph: opaque state colour
        assert pixels[edge:edge + 4] == bytes([255, red, green, blue]), state
        assert [size for size, _, _ in icons.pixmaps(state)] == list(icons.SIZES)
    assert len({icons.pixmap(state, 24) for state in icons.STYLES}) == len(icons.STYLES)  # each state looks different


def test_install_autostart_writes_an_xdg_autostart_entry(isolated_dirs, tmp_path):
    config = tmp_path / "my config.json"
    # In this process: the entry written is the point, not the process (~0.15 CPU-s a run)
    done = run_in_process("--config", str(config), "tray", "--install-autostart")
    assert done.returncode == 0, done.stderr
    entry = isolated_dirs / "xdg_config_home" / "autostart" / "voice-transcriber-tray.desktop"
    assert done.stdout.decode().strip() == f"autostart entry written: {entry}"
    text = entry.read_text()
    assert "[Desktop Entry]\nType=Application\n" in text
    assert re.search(r"^Exec=\S+/voice-transcriber --config '.*/my config.json' tray$", text, re.M), text
    if (validator := subprocess.run(["sh", "-c", "command -v desktop-file-validate"], capture_output=True)).returncode == 0:
        assert subprocess.run(["desktop-file-validate", str(entry)], capture_output=True).returncode == 0
    removed = run_in_process("tray", "--remove-autostart")
    assert removed.returncode == 0 and not entry.exists()


def test_no_session_bus_is_one_line_and_exit_1(tmp_path):
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    env = {k: v for k, v in os.environ.items() if k != "DBUS_SESSION_BUS_ADDRESS"}
    env.update(XDG_RUNTIME_DIR=str(runtime), DBUS_SESSION_BUS_ADDRESS=f"unix:path={tmp_path}/no-bus")
    done = subprocess.run([VT, "tray"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("voice-transcriber tray: error: no D-Bus session bus"), done.stderr
    assert "Traceback" not in done.stderr


def test_no_daemon_and_start_daemon_off_is_one_line_and_exit_1(session_bus, tmp_path, write_config):
    write_config({"tray": {"startDaemon": False}})
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    done = subprocess.run([VT, "tray"], env={**os.environ, **session_bus.env, "XDG_RUNTIME_DIR": str(runtime)},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip() == ("voice-transcriber tray: error: no voice-transcriber daemon is running (start one "
                                   "with `voice-transcriber daemon`, or set tray.startDaemon to true)")


class Tray:
    """``voice-transcriber tray`` in the daemon world, on the host's bus and display."""

    def __init__(self, world: DaemonWorld, host: TrayHost) -> None:
        self.log = world.root / "tray.log"
        self.process = world.popen("--debug", "tray", env={**world.env, **host.client_env}, stdout=self.log.open("ab"),
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.name = f"org.kde.StatusNotifierItem-{self.process.pid}-1"

    def said(self) -> str:
        return self.log.read_text(errors="replace")


def _screenshot(host: TrayHost, state: str) -> None:
    """With VT_TRAY_SCREENSHOTS=DIR, keep the panel as drawn (docs/tray.md's picture comes from here)."""
    if folder := os.environ.get("VT_TRAY_SCREENSHOTS"):
        host.save_png(Path(folder) / f"tray-{state}.png", box=(0, 0, 64, 32))


def _clipboard(host: TrayHost) -> str:
    return host.run("xclip", "-o", "-selection", "clipboard")


@pytest.mark.slow
def test_the_tray_on_xfce4_panel(pulse, tiny_model_dir, espeak_wav, openai_api, tmp_path):
    """The dictations are spoken into the virtual microphone; the transcript comes from the OpenAI replica
    server (the tray is the point, not the decode: the daemon tests run the local model)."""
    require("xclip", "pulseaudio")
    speech = espeak_wav(SENTENCE)
    openai_api.transcriptions(json_reply(openai_transcription(SENTENCE)))
    host = start_tray_host(tmp_path / "host", with_panel=False)
    stubs = tmp_path / "bin"
    stubs.mkdir()
    stub_log = tmp_path / "xdg-open.txt"
    (stubs / "xdg-open").write_text(f'#!/bin/sh\necho "$@" > {stub_log}\n')
    (stubs / "xdg-open").chmod(0o755)
    world = DaemonWorld(pulse.env, tiny_model_dir,  # the backend is openai: no model is loaded
                        config={"output": {"sinks": ["stdout"]}, "transcription": {"backend": "openai"}},
                        extra_env={"PATH": f"{stubs}:{os.environ['PATH']}",
                                   "VOICE_TRANSCRIBER_TRANSCRIPTION__OPENAI__API_KEY": "sk-test",
                                   "VOICE_TRANSCRIBER_TRANSCRIPTION__OPENAI__BASE_URL": openai_api.url})
    tray: Tray | None = None
    try:
        # No tray host yet: one line, then the tray waits; the panel comes up and the item is registered.
        tray = Tray(world, host)
        wait_until(lambda: "waiting for one" in tray.said() or tray.process.poll() is not None, 90, "the no-host line")
        assert "no tray host on the session bus" in tray.said(), tray.said()
        assert "started the daemon" in tray.said(), tray.said()  # none ran: the tray started it
        host.start_panel()
        wait_until(lambda: any(tray.name in item for item in host.registered_items()), 20, "the item registered")
        name = tray.name

        def wait(check, timeout: float, what: str):
            try:
                return wait_until(check, timeout, what)
            except TimeoutError as exc:
                events = "\n".join(line[:300] for line in tray.said().splitlines()[-40:])
                tooltip = re.findall(r"'([^']*)'", host.prop(name, "ToolTip"))
                raise AssertionError(f"{exc}; tooltip: {tooltip}\n{events}") from None

        # The spec's properties, read with gdbus.
        assert host.prop(name, "Category") == "(<'ApplicationStatus'>,)"
        assert host.prop(name, "Id") == "(<'voice-transcriber'>,)"
        assert host.prop(name, "Status") == "(<'Active'>,)"
        assert host.prop(name, "ItemIsMenu") == "(<false>,)"
        assert host.prop(name, "Menu") == "(<objectpath '/MenuBar'>,)"
        assert host.prop(name, "IconPixmap").startswith("(<[(16, 16, [byte 0x00, 0x00"), host.prop(name, "IconPixmap")[:80]
        assert "Idle" in host.prop(name, "ToolTip")
        gray = icons.STYLES["idle"][0]
        wait(lambda: host.count_colour(gray) > 20, 10, "the panel drawing the grey idle icon")
        _screenshot(host, "idle")

        monitor = host.monitor(name, tmp_path / "signals.txt")
        # gdbus says who owns the name once the bus answered it, after its signal subscription: it hears them all now
        wait(lambda: " is owned by " in (tmp_path / "signals.txt").read_text(errors="replace"), 30, "gdbus monitor")
        try:
            # Left click: a recording starts in the daemon, on the virtual microphone.
            daemon, since = world.daemon_status()["pid"], time.monotonic()
            host.call(name, "org.kde.StatusNotifierItem.Activate", "0", "0")
            wait(lambda: host.prop(name, "Status") == "(<'NeedsAttention'>,)", 30, "Status NeedsAttention")
            assert "Recording" in host.prop(name, "ToolTip")
            enabled = host.call(name, "com.canonical.dbusmenu.GetGroupProperties", "[1, 4, 2]", "['enabled']",
                                path="/MenuBar")  # Start, Stop, Cancel
            assert re.findall(r"\((\d+), \{'enabled': <(\w+)>\}\)", enabled) == [
                ("1", "false"), ("4", "true"), ("2", "true")], enabled
            wait(lambda: host.count_colour(icons.STYLES["recording"][0]) > 20, 10, "the panel drawing red")
            _screenshot(host, "recording")
            pulse.play(speech).wait(timeout=60)
            heard_until_now(daemon, since)  # the daemon's recording has all of it
            host.call(name, "org.kde.StatusNotifierItem.Activate", "0", "0")
            wait(lambda: "friday" in _clipboard(host).lower() or "Failed" in host.prop(name, "ToolTip"),
                 60, "the transcript on the clipboard")
            assert _clipboard(host) == SENTENCE
            assert len(openai_api.requests()) == 1  # the recording was sent once
            if host.count_colour(icons.STYLES["delivered"][0]) > 20:  # shown for tray.deliveredSeconds
                _screenshot(host, "delivered")
            wait(lambda: host.prop(name, "Status") == "(<'Active'>,)", 10, "Status back to Active")
            wait(lambda: "Last: " in host.prop(name, "ToolTip"), 10, "the last transcript in the tooltip")
            layout = host.call(name, "com.canonical.dbusmenu.GetLayout", "0", "-1", "[]", path="/MenuBar")
            said = " ".join(_clipboard(host).split()[:3]).replace("_", "__")
            assert "'Start recording'" in layout and said in layout, (said, layout)  # the recent transcripts
            enabled = host.call(name, "com.canonical.dbusmenu.GetGroupProperties", "[1, 4, 2]", "['enabled']",
                                path="/MenuBar")
            assert re.findall(r"\((\d+), \{'enabled': <(\w+)>\}\)", enabled) == [
                ("1", "true"), ("4", "false"), ("2", "false")], enabled
            # The menu: another output (a radio item changes), a recent transcript back on the clipboard.
            host.call(name, "com.canonical.dbusmenu.Event", "12", "clicked", "<0>", "0", path="/MenuBar")  # typing
            wait(lambda: "output: typing" in host.prop(name, "ToolTip"), 10, "the output choice")
            host.call(name, "com.canonical.dbusmenu.Event", "11", "clicked", "<0>", "0", path="/MenuBar")  # clipboard
            subprocess.run(["xclip", "-selection", "clipboard", "-i"], input=b"something else", timeout=10,
                           env={**os.environ, **host.client_env})
            host.call(name, "com.canonical.dbusmenu.Event", "31", "clicked", "<0>", "0", path="/MenuBar")
            wait(lambda: "friday" in _clipboard(host).lower(), 30, "the recent transcript on the clipboard again")
            host.call(name, "com.canonical.dbusmenu.Event", "41", "clicked", "<0>", "0", path="/MenuBar")
            opened = wait(lambda: stub_log.exists() and stub_log.read_text(), 30, "xdg-open called")
            assert opened.strip() == str(world.config_file)
            signals = (tmp_path / "signals.txt").read_text()
            assert "NewStatus ('NeedsAttention',)" in signals and "NewStatus ('Active',)" in signals, signals
            assert signals.count(".NewIcon ()") >= 3, signals  # idle → recording → transcribing → delivered
            assert "NewToolTip" in signals and "LayoutUpdated" in signals and "ItemsPropertiesUpdated" in signals, signals

            # Middle click cancels a recording: back to idle, no error.
            host.call(name, "org.kde.StatusNotifierItem.Activate", "0", "0")
            wait(lambda: host.prop(name, "Status") == "(<'NeedsAttention'>,)", 30, "recording again")
            host.call(name, "org.kde.StatusNotifierItem.SecondaryActivate", "0", "0")
            wait(lambda: host.prop(name, "Status") == "(<'Active'>,)", 30, "cancelled")
            assert "Failed" not in host.prop(name, "ToolTip"), host.prop(name, "ToolTip")[-300:]

            # A dictation without speech fails: the error stays, and the tooltip says how to recover.
            host.call(name, "org.kde.StatusNotifierItem.Activate", "0", "0")
            wait(lambda: host.prop(name, "Status") == "(<'NeedsAttention'>,)", 30, "recording, silent")
            host.call(name, "com.canonical.dbusmenu.Event", "4", "clicked", "<0>", "0", path="/MenuBar")  # Stop
            wait(lambda: "Failed" in host.prop(name, "ToolTip"), 60, "the failure in the tooltip")
            tooltip = host.prop(name, "ToolTip")
            assert "no speech detected" in tooltip and "voice-transcriber retry " in tooltip, tooltip[-400:]
            wait(lambda: host.count_colour(icons.STYLES["error"][0]) > 20, 10, "the panel drawing the error icon")
            _screenshot(host, "error")
        finally:
            stop(monitor)

        # The daemon stops under the tray: the icon says so; a click starts a daemon again and records.
        stopped = world.vt("daemon", "stop")
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr
        wait(lambda: "daemon stopped" in host.prop(name, "ToolTip"), 30, "the tray noticing the daemon stopped")
        host.call(name, "org.kde.StatusNotifierItem.Activate", "0", "0")
        wait(lambda: host.prop(name, "Status") == "(<'NeedsAttention'>,)", 90, "recording with a new daemon")
        host.call(name, "org.kde.StatusNotifierItem.SecondaryActivate", "0", "0")
        wait(lambda: host.prop(name, "Status") == "(<'Active'>,)", 30, "cancelled")

        # The panel restarts: the item is registered again with the new watcher.
        host.stop_panel()
        host.start_panel()
        wait(lambda: any(name in item for item in host.registered_items()), 20, "registered again")

        # Quit from the menu: the name is released, the daemon the tray started is stopped.
        host.call(name, "com.canonical.dbusmenu.Event", "42", "clicked", "<0>", "0", path="/MenuBar")
        assert tray.process.wait(timeout=60) == 0, tray.said()
        assert name not in host.item_names(), host.item_names()
        wait(lambda: not world.socket.exists(), 30, "the daemon the tray started stopped")
    finally:
        if tray is not None and tray.process.poll() is None:
            tray.process.kill()
        world.close()
        host.close()
