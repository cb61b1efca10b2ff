"""A test run leaves the caller's HOME and XDG directories (runtime dir included) untouched."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HOMES = ("HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_RUNTIME_DIR")


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(path.relative_to(folder)): (path.stat().st_size, path.stat().st_mtime_ns)
            for path in sorted(folder.rglob("*"))}


def test_a_full_pipeline_test_leaves_the_callers_dirs_unchanged(tmp_path):
    caller = {var: tmp_path / "caller" / var.lower() for var in HOMES}
    for path in caller.values():
        path.mkdir(parents=True, mode=0o700)
        (path / "mine.txt").write_text("the user's own file\n")
    before = {var: snapshot(path) for var, path in caller.items()}
    report = tmp_path / "report.json"
    env = {**os.environ, **{var: str(path) for var, path in caller.items()},
           "VOICE_TRANSCRIBER_TEST_PROBE_REPORT": str(report)}

    child = subprocess.run(
        [sys.executable, "-m", "pytest", "-o", "addopts=", "--import-mode=importlib", "-p", "no:cacheprovider",
         "-q", "--basetemp", str(tmp_path / "basetemp"), "tests/isolation_probe.py"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120)

    assert child.returncode == 0, child.stdout[-3000:] + child.stderr[-3000:]
    assert {var: snapshot(path) for var, path in caller.items()} == before
    seen = json.loads(report.read_text())
    for var, path in caller.items():
        # Isolated from the start (module import), not only inside the test...
        assert seen["at_import"][var] and not seen["at_import"][var].startswith(str(path)), var
        assert seen["in_test"][var] and not seen["in_test"][var].startswith(str(path)), var
    # ...and the pipeline did write its run state and history, into the isolated dirs.
    assert seen["run_files"] and all(f.startswith(seen["in_test"]["XDG_RUNTIME_DIR"]) for f in seen["run_files"])
    assert seen["history"].startswith(seen["in_test"]["XDG_STATE_HOME"])
