"""Stub desktop tools and a direct sink runner, for argv-safety and failure-path tests.

* ``stub_tool(name, ...)``: an executable first on PATH that records each call's argv and stdin
  and answers with canned output and exit status.
* ``only_tools(*names)``: PATH reduced to those real tools (plus the stubs), to test "not installed".
* ``run_sink(SinkClass, text, config)``: deliver ``text`` through one sink with the given config.
* ``run_in_process(*args)``: the command line in this process, for tests whose point is not the process.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

STUB = r'''#!{python} -S
import json, os, sys
data = sys.stdin.buffer.read().decode("utf-8", "replace") if {read_stdin} else None
with open({log!r}, "a+", encoding="utf-8") as f:
    f.seek(0)
    calls = len(f.readlines())
    f.write(json.dumps({{"argv": sys.argv, "stdin": data}}) + "\n")
outputs = {stdout!r}
sys.stdout.write(outputs[min(calls, len(outputs) - 1)]); sys.stderr.write({stderr!r})
sys.exit({exit_code})
'''


@dataclass
class StubTool:
    """An executable first on PATH that records each call's argv and stdin."""

    name: str
    log: Path

    def calls(self) -> list[dict]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text(encoding="utf-8").splitlines()]

    def argvs(self) -> list[list[str]]:
        return [[Path(call["argv"][0]).name, *call["argv"][1:]] for call in self.calls()]


@pytest.fixture
def stub_tool(tmp_path, monkeypatch) -> Callable[..., StubTool]:
    """``stub_tool("xdotool", exit_code=0, stdout="", stderr="", read_stdin=False)`` → StubTool.

    ``stdout`` may be a list: call N prints item N (the last one from then on). The stub
    directory goes first on PATH; ``only_tools()`` removes the real tools."""
    bin_dir = tmp_path / "stub-bin"
    bin_dir.mkdir(exist_ok=True)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")

    def make(name: str, *, exit_code: int = 0, stdout: str | list[str] = "", stderr: str = "",
             read_stdin: bool = False) -> StubTool:
        log = tmp_path / f"stub-{name}.jsonl"
        script = bin_dir / name
        outputs = [stdout] if isinstance(stdout, str) else stdout
        script.write_text(STUB.format(python=sys.executable, log=str(log), stdout=outputs, stderr=stderr,
                                      exit_code=exit_code, read_stdin=read_stdin), encoding="utf-8")
        script.chmod(0o755)
        return StubTool(name, log)

    return make


@pytest.fixture
def only_tools(tmp_path, monkeypatch) -> Callable[..., Path]:
    """``only_tools("xclip", ...)``: PATH holds just links to those real tools (plus any stubs)."""

    def restrict(*names: str) -> Path:
        bin_dir = tmp_path / "only-bin"
        bin_dir.mkdir(exist_ok=True)
        for name in names:
            real = shutil.which(name)
            if real and not (bin_dir / name).exists():
                (bin_dir / name).symlink_to(real)
        stub_dir = tmp_path / "stub-bin"
        monkeypatch.setenv("PATH", os.pathsep.join(str(d) for d in (stub_dir, bin_dir) if d.exists()))
        return bin_dir

    return restrict


@pytest.fixture
def run_sink(isolated_dirs) -> Callable[..., object]:
    """``run_sink(SinkClass, text, {"output.typing": {...}})``: deliver ``text`` with that config.

    Returns the RunContext (its ``timings``/``info``); errors propagate as the sink raised them."""
    from voice_transcriber import RunContext, Transcript
    from voice_transcriber.config import load_settings

    def run(sink_cls, text: str, config: dict | None = None):
        ctx = RunContext(load_settings(overrides=config or {}))
        sink = sink_cls(ctx)
        sink.deliver(text, Transcript(text=text, backend="test"))
        return ctx

    return run


def run_in_process(*args: str, env: dict[str, str] | None = None, text: bool = False) -> subprocess.CompletedProcess:
    """``voice-transcriber ARGS`` through the console script's own function (``voice_transcriber.cli.main``:
    the same options, plugins, one-line errors and exit codes) in this process, with ``env`` added to the
    environment meanwhile; the result as :func:`vt_testing.core.run_cli` gives it (bytes, or str with ``text``).
    For tests whose point is what a command does, not its process: a ``voice-transcriber`` process costs
    ~0.3 s of CPU to start. The tools it runs (stubs included) are still real processes."""
    import io
    from contextlib import redirect_stderr, redirect_stdout

    from voice_transcriber.cli import main

    saved = {var: os.environ.get(var) for var in env or {}}
    os.environ.update(env or {})
    out, err = io.TextIOWrapper(io.BytesIO(), encoding="utf-8"), io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    try:
        with redirect_stdout(out), redirect_stderr(err):
            try:
                main(list(args))
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        for var, value in saved.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value
    out.flush()
    err.flush()
    stdout, stderr = out.buffer.getvalue(), err.buffer.getvalue()
    return subprocess.CompletedProcess(["voice-transcriber", *args], code, stdout.decode() if text else stdout,
                                       stderr.decode() if text else stderr)


@pytest.fixture
def fake_x11(monkeypatch):
    """An X11 session as the sinks see it (``DISPLAY`` set, no Wayland), for stub-tool tests. No X
    server answers there (a display number nobody uses), so every desktop answer comes from the stubs."""
    monkeypatch.setenv("DISPLAY", ":4099")
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)


@pytest.fixture
def fake_wayland(monkeypatch, tmp_path):
    """A plain Wayland session (no sway or Hyprland socket), for stub-tool tests."""
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-stub")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    for var in ("DISPLAY", "SWAYSOCK", "HYPRLAND_INSTANCE_SIGNATURE"):
        monkeypatch.delenv(var, raising=False)
