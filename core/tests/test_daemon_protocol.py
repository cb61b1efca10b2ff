"""The daemon protocol without a daemon: the hand-written request line, the client's parser,
peer credentials on a real socket pair, and what a client does when no daemon listens."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from voice_transcriber.daemon import client
from voice_transcriber.daemon.protocol import ProtocolError, decode_request, peer_credentials, refusal

TRICKY = ["--output", 'a "quoted" \\ back\\slash', "new\nline\r\n", "tab\tbell\x07", "café — 😀", "{}[],:"]


def test_the_hand_written_request_line_is_json_the_daemon_reads():
    request = {"v": 1, "command": "toggle", "args": TRICKY, "config": "/tmp/c.json", "debug": True, "quiet": False,
               "session": {"DISPLAY": ":0", "WAYLAND_DISPLAY": 'odd "name"\\'}}
    line = client.request_line(request)
    assert line.endswith(b"\n") and line.count(b"\n") == 1  # one line, whatever the arguments hold
    assert decode_request(line[:-1]) == request
    assert json.loads(line.decode("utf-8"), strict=False) == request


def test_undecodable_arguments_are_left_to_the_cli():
    assert client.request_line({"v": 1, "command": "toggle", "args": ["bad\udcff"]}) is None


@pytest.mark.parametrize(("argv", "expected"), [
    (["toggle"], {"command": "toggle", "args": [], "config": None, "debug": False, "quiet": False}),
    (["--config", "c.json", "--debug", "-q", "start", "--output", "typing", "--wait"],
     {"command": "start", "args": ["--output", "typing", "--wait"], "config": os.path.abspath("c.json"),
      "debug": True, "quiet": True}),
    (["--config=/x/c.json", "stop"], {"command": "stop", "args": [], "config": "/x/c.json", "debug": False,
                                      "quiet": False}),
])
def test_the_fast_path_recognises_hotkey_commands(argv, expected, monkeypatch):
    monkeypatch.delenv("VOICE_TRANSCRIBER_DEBUG", raising=False)
    for name in client.SESSION_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-1")
    assert client.parse(argv) == {"v": 1, **expected, "session": {"WAYLAND_DISPLAY": "wayland-1"}}


@pytest.mark.parametrize("argv", [[], ["--output", "stdout"], ["status"], ["daemon"], ["toggle", "--help"],
                                  ["start", "-h"], ["--config"], ["--version", "toggle"], ["transcribe", "toggle"]])
def test_everything_else_goes_to_the_cli(argv):
    assert client.parse(argv) is None


@pytest.mark.parametrize(("line", "problem"), [
    (b"not json", "not a JSON line"),
    (b"[1]", "a request is a JSON object"),
    (b'{"v": 2, "command": "toggle"}', "protocol version 2, this daemon speaks 1"),
    (b'{"v": 1, "command": "rm"}', "unknown command 'rm'"),
    (b'{"v": 1, "command": "toggle", "args": [1]}', "args must be a list of strings"),
    (b'{"v": 1, "command": "toggle", "config": "relative.json"}', "config must be an absolute path"),
])
def test_bad_requests_are_named(line, problem):
    with pytest.raises(ProtocolError, match=problem):
        decode_request(line)


def test_peer_credentials_come_from_the_kernel():
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with ours, theirs:
        pid, uid, gid = peer_credentials(ours)
    assert (pid, uid, gid) == (os.getpid(), os.getuid(), os.getgid())
    assert refusal(uid, os.getuid()) is None
    assert refusal(0, 999) == ("the voice-transcriber daemon of uid 999 only takes commands from its own user; "
                               "uid 0 was refused (run the command as that user, or start your own daemon)")


def test_no_daemon_means_fall_back(tmp_path, capsys):
    assert client.connect(str(tmp_path / "absent.sock")) is None
    assert client.connect("/tmp/" + "x" * 200 + ".sock") is None  # too long for a Unix socket: nobody listens there
    stale = tmp_path / "stale.sock"
    bound = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    bound.bind(str(stale))
    bound.close()  # the file stays, nobody listens: what a killed daemon leaves
    assert client.connect(str(stale)) is None
    assert capsys.readouterr().err == (f"voice-transcriber: the daemon socket {stale} is stale (the daemon is gone); "
                                       "working without it — restart it with `voice-transcriber daemon`\n")


def test_the_hotkey_path_imports_nothing_heavy():
    """What `voice-transcriber toggle` loads before it can reach the daemon (json, re, socket, click: none)."""
    code = ("import sys; from voice_transcriber.daemon import client; client.parse(['toggle']); "
            "print(' '.join(m for m in ('json', 're', 'socket', 'enum', 'click', 'pydantic', 'typing') if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert loaded == [], loaded
