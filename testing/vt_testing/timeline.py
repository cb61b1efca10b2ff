"""Where the suite's wall time goes: each test's start and end, per xdist worker.

With ``VT_TIMELINE=FILE`` set, every worker appends one JSON line per test (worker, node id, start,
end: setup to teardown, wall clock) to FILE. Then::

    python testing/vt_testing/timeline.py FILE

prints each worker's busy time and idle time before the last test ended (a long test scheduled
late leaves the other workers idle), the tests still running in the suite's last minute, and the
slowest files. Without the variable this plugin does nothing.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import defaultdict

import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    path = os.environ.get("VT_TIMELINE")
    start = time.time()
    yield
    if path:
        line = {"worker": os.environ.get("PYTEST_XDIST_WORKER", "main"), "test": item.nodeid,
                "start": start, "end": time.time()}
        with open(path, "a", encoding="utf-8") as file:
            file.write(json.dumps(line) + "\n")


def summary(lines: list[dict]) -> str:
    first = min(line["start"] for line in lines)
    last = max(line["end"] for line in lines)
    workers: dict[str, list[dict]] = defaultdict(list)
    for line in lines:
        workers[line["worker"]].append(line)
    out = [f"{len(lines)} tests, first start → last end {last - first:.1f} s"]
    for name, tests in sorted(workers.items()):
        busy = sum(t["end"] - t["start"] for t in tests)
        ended = max(t["end"] for t in tests)
        out.append(f"  {name}: {len(tests)} tests, busy {busy:.1f} s, idle {ended - first - busy:.1f} s "
                   f"between tests, done {last - ended:.1f} s before the last test ended")
    out.append("tests running in the last 60 s:")
    for t in sorted((t for t in lines if t["end"] > last - 60), key=lambda t: t["start"]):
        out.append(f"  {t['worker']} {t['start'] - first:7.1f}–{t['end'] - first:7.1f} s  {t['test']}")
    files: dict[str, float] = defaultdict(float)
    for t in lines:
        files[t["test"].split("::")[0]] += t["end"] - t["start"]
    out.append("slowest files (summed test time):")
    out += [f"  {seconds:6.1f} s  {name}" for name, seconds in sorted(files.items(), key=lambda kv: -kv[1])[:25]]
    return "\n".join(out)


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as file:
        print(summary([json.loads(line) for line in file if line.strip()]))
