"""``status`` for status bars without click (``voice_transcriber.status``): the same line as the command line's
``status`` for every state and option it takes; anything else goes to the command line.

The run records are published by this process, as a pipeline process publishes them (a ``transcribing`` run of
this very process is alive). The fast path and the click command are compared in-process (both only read the
test's runtime directory); real processes show that the installed command takes the fast path, loading no click,
pydantic, pluggy or plugin, and that what it declines gets the command line's message and exit code.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vt_testing.core import MODULES_AT_EXIT
from voice_transcriber import runstate, status

EXE = str(Path(sys.executable).with_name("voice-transcriber"))
#: An ended run is shown for --linger seconds (default 5); the runs here ended an hour ago, so that both ways
#: of a command (seconds apart on a busy machine) see the same state.
ARGS = [(), ("--json",), ("--format={tooltip}",), ("--linger", "0", "--json"), ("--json", "--linger", "7200"),
        ("--linger=7200", "--format", "{state} {pid} {backend}|{error}"), ("--format", "{since} {text}", "--linger=7200")]


def fast(capsys, *args: str) -> tuple[int, str] | None:
    """(exit code, stdout) of the fast path, or None when it leaves the command to the command line."""
    capsys.readouterr()
    try:
        status.run(["status", *args])
    except SystemExit as exit:
        return exit.code, capsys.readouterr().out
    return None


def published(state: str) -> None:
    if state == "transcribing":
        runstate.publish("20261206-100000-aaaaaa", "transcribing", backend="local")
    elif state != "idle":
        runstate.publish("20261206-100000-bbbbbb", state, sinks=["stdout"], error="the server said no (exit 1)")
        path = runstate.runs_dir() / "20261206-100000-bbbbbb.json"
        path.write_text(json.dumps({**json.loads(path.read_text()), "since": time.time() - 3600}))


@pytest.mark.parametrize("state", ["idle", "delivered", "failed", "transcribing"])
def test_each_state_and_option_prints_what_the_command_line_prints(state, cli, capsys):
    published(state)
    for args in ARGS:
        answered = fast(capsys, *args)
        clicks = cli("status", *args)
        assert answered == (0, clicks.output) and clicks.exit_code == 0, (args, answered, clicks.output)
    assert json.loads(fast(capsys, "--json", "--linger", "7200")[1])["state"] == state


@pytest.mark.parametrize("args", [
    ("--json", "--format", "{state}"), ("--format", "{nope}"), ("--linger", "-1"), ("--linger", "1e1"),
    ("--linger", "nan"), ("--json=yes",), ("--json", "--json"), ("--nosuch",), ("extra",), ("--format",),
    ("--format", "-{state}"), ("--follow",), ("-f",), ("--help",), ("--", "--json")])
def test_what_it_does_not_plainly_take_is_left_to_the_command_line(args, capsys):
    assert fast(capsys, *args) is None
    assert capsys.readouterr() == ("", "")


def test_a_status_bar_poll_loads_no_click_pydantic_pluggy_or_plugin(tmp_path):
    published("delivered")
    dump = tmp_path / "modules.json"
    done = subprocess.run([sys.executable, "-c", MODULES_AT_EXIT, str(dump), "status", "--json", "--linger", "7200"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stderr == "" and json.loads(done.stdout)["state"] == "delivered"
    modules = set(json.loads(dump.read_text()))
    assert not {"click", "pydantic", "pluggy", "numpy"} & modules
    assert not any(name.startswith("voice_transcriber_") for name in modules)


def test_what_it_declines_gets_the_command_lines_message_and_exit_code(tmp_path):
    """A template that does not fill (the fast path tried it), a usage error; without a valid plugin index (a
    changed or broken plugin, a plugin variable) the command line answers and says what it says."""
    for args, message in ((["--format", "{nope}"], "unknown field {nope} in --format; known: alt, backend"),
                          (["--json", "--format", "x"], "use either --json or --format, not both")):
        done = subprocess.run([EXE, "status", *args], capture_output=True, text=True, timeout=60)
        assert (done.returncode, done.stdout) == (2, "") and len(done.stderr.splitlines()) == 1, done.stderr
        assert done.stderr.startswith(f"voice-transcriber: error: {message}"), done.stderr
    warned = subprocess.run([EXE, "status"], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "VOICE_TRANSCRIBER_PLUGINS": "nosuch"})
    assert (warned.returncode, warned.stdout) == (0, "idle\n") and "VOICE_TRANSCRIBER_PLUGINS names 'nosuch'" in warned.stderr
    for index in (Path(os.environ["XDG_CACHE_HOME"]) / "voice-transcriber").glob("plugins-*.json"):
        index.unlink()
    dump = tmp_path / "modules.json"
    done = subprocess.run([sys.executable, "-c", MODULES_AT_EXIT, str(dump), "status"], capture_output=True, text=True,
                          timeout=60)
    assert (done.returncode, done.stdout) == (0, "idle\n") and "click" in json.loads(dump.read_text())
