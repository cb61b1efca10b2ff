"""A typist the machine starves never holds a key down: one "v" dictated is one "v" typed.

A busy machine (a build running while you dictate) can stop the typing process for a while.
If that happens between a key's press and its release, the desktop sees the key held down and
repeats it ("vvvvv"). The starvation here is deterministic: the typing process runs under
strace, which holds it STALL seconds at every sleep — longer than the desktops' repeat delay
(sway 600 ms, X 660 ms) — or, for the GNOME portal, at every read of the portal's answers. Our
tools send each key's press and release together, so the stall can only fall between keys;
wtype, xdotool and a portal client that waits for the press's answer before the release are the
controls that show the stall is real (the window gets the key repeated).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from vt_testing.desktop import wait_until

#: Microseconds each sleep of the typing process is held (longer than any repeat delay here).
STALL_US = 900_000
TYPE = ("from voice_transcriber_clipboard.keys import key_tool; import sys; "
        "keys = key_tool(sys.argv[1], sys.argv[2], key_delay_ms=5); keys.type('vvx'); keys.press('Return')")


def starved(argv: list[str], log: Path, when: str, calls: str = "clock_nanosleep,nanosleep",
            stall_us: int = STALL_US) -> list[str]:
    """``argv`` held STALL_US at its ``calls`` (sleeps) ``when`` (strace's syscall delay injection: ``1+``
    every one); ``argv`` may be ``["-p", PID]``."""
    if shutil.which("strace") is None:
        (pytest.fail if os.environ.get("CI") else pytest.skip)("strace is not installed (see .ci/apt-packages.txt)")
    probe = subprocess.run(["strace", "-qq", "-o", "/dev/null", "-e", "inject=clock_nanosleep:delay_exit=1",
                            "sleep", "0"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"strace cannot trace here (no ptrace?): {probe.stderr.decode(errors='replace').strip()}")
    seccomp = [] if argv[0] == "-p" else ["--seccomp-bpf"]  # a filter cannot be put on a running process
    return ["strace", "-f", "-qq", *seccomp, "-o", str(log), "-e", f"trace={calls}",
            "-e", f"inject={calls}:delay_exit={stall_us}:when={when}", *argv]


def run_starved(argv: list[str], tmp_path: Path, when: str = "1+") -> int:
    """Run ``argv`` starved; return how many of its sleeps were held (the stall really happened)."""
    log = tmp_path / "strace.log"
    subprocess.run(starved(argv, log, when), check=True, timeout=60, capture_output=True)
    return log.read_text().count("(DELAYED)")


def test_starved_virtual_keyboard_types_each_key_once_on_sway(foot_window, tmp_path):
    held = run_starved([sys.executable, "-c", TYPE, "virtual-keyboard", "wayland"], tmp_path)
    assert held >= 2  # stopped between the keys, longer than sway's repeat delay
    assert foot_window.wait_for("vvx\n") == "vvx\n"


def test_starved_xtest_types_each_key_once_on_x11(x_window, tmp_path):
    held = run_starved([sys.executable, "-c", TYPE, "xtest", "x11"], tmp_path)
    assert held >= 2
    assert x_window.wait_for("vvx\n") == "vvx\n"


@pytest.mark.parametrize("desktop", ["sway", "x11"])
def test_control_a_starved_wtype_or_xdotool_repeats_the_key(desktop, request, tmp_path):
    """The harness starves for real: the tools that sleep between press and release repeat."""
    if desktop == "sway":
        target = request.getfixturevalue("foot_window")
        argv, when = ["wtype", "-s", "100", "v", "-k", "Return"], "2"  # sleeps: the settle, then after "v" pressed
    else:
        target = request.getfixturevalue("x_window")
        argv, when = ["xdotool", "type", "--delay", "12", "v\n"], "1"  # the first sleep: after "v" pressed
    assert run_starved(argv, tmp_path, when) == 1
    wait_until(lambda: target.text().endswith("\n"), 10, "the line")
    typed = target.text()
    assert typed.startswith("vv") and set(typed.strip()) == {"v"}, typed  # a correct typist gives "v\n"


PORTAL = r"""
import ctypes, sys
ctypes.CDLL(None).prctl(0x59616D61, ctypes.c_ulong(-1), 0, 0, 0)  # PR_SET_PTRACER_ANY: strace -p may attach (Yama)
from voice_transcriber_clipboard.keys import key_tool
from voice_transcriber_clipboard.portal import _Loop
from voice_transcriber_clipboard.xkb import keysym

keys = key_tool("portal", "wayland", key_delay_ms=5)
keys.type("")  # the session starts: the consent dialog, accepted by the test's clicker
session, z = keys._session(), keysym("z")
print("ready", flush=True)
sys.stdin.readline()  # strace is attached now
print("control", flush=True)  # a release sent only after the press's answer came back
_Loop.run(session.keysyms([(z, True)], 0), 30)
_Loop.run(session.keysyms([(z, False)], 0), 30)
print("ours", flush=True)
keys.type("ab")
print("end", flush=True)
"""


@pytest.mark.xdist_group("gnome")
def test_starved_portal_sends_each_key_once_on_gnome(gtk_window, tmp_path):
    """GNOME: every read of the portal's answers is held (GNOME repeats a key after 500 ms). Our key's
    press and release go out together, before any answer is read; the control, a press whose release
    waits for the press's answer, repeats."""
    proc = subprocess.Popen([sys.executable, "-c", PORTAL], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    log = tmp_path / "strace.log"
    try:
        assert proc.stdout.readline().strip() == "ready"
        argv = starved(["-p", str(proc.pid)], log, "1+", calls="recvmsg,recvfrom", stall_us=700_000)
        argv[argv.index("trace=recvmsg,recvfrom")] = "trace=recvmsg,recvfrom,write"  # and our markers
        tracer = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        tasks = list(Path(f"/proc/{proc.pid}/task").iterdir())
        wait_until(lambda: tracer.poll() is not None or all(_traced(task) for task in tasks), 10, "strace to attach")
        if tracer.poll() is not None:
            pytest.skip(f"strace cannot attach to a running process here: {tracer.stderr.read().strip()}")
        proc.stdin.write("go\n")
        proc.stdin.close()
        assert proc.wait(60) == 0
        tracer.wait(10)
    finally:
        proc.kill()
    trace = log.read_text()
    control, ours = trace.split('write(1, "control"')[1].split('write(1, "ours"')
    assert control.count("(DELAYED)") >= 1 and ours.split('write(1, "end"')[0].count("(DELAYED)") >= 2, trace
    wait_until(lambda: len(gtk_window.text()) >= 4, 10, "the control's repeated z")
    typed = gtk_window.text()
    assert typed.endswith("ab") and set(typed[:-2]) == {"z"} and len(typed) >= 4, typed


def _traced(task: Path) -> bool:
    status = (task / "status").read_text()
    return any(line.split()[1] != "0" for line in status.splitlines() if line.startswith("TracerPid:"))
