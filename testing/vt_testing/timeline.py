"""Where the suite's wall time goes: each test's start and end, per xdist worker.

With ``VT_TIMELINE=FILE`` set, every worker appends one JSON line per test (worker, node id, start,
end: setup to teardown, wall clock; cpu: the CPU seconds the worker and the child processes it waited for
used meanwhile, which is what counts when the suite is CPU-bound) to FILE. Then::

    python testing/vt_testing/timeline.py FILE

prints each worker's busy time and idle time before the last test ended (a long test scheduled
late leaves the other workers idle), the tests still running in the suite's last minute, and the
slowest files. Without the variable this plugin does nothing.

``python testing/vt_testing/timeline.py FILE --workers 2 3 4`` replays the recorded tests through a
model of xdist's ``--dist loadgroup`` scheduler (:func:`simulate`) with that many workers: what
scheduling alone gives. It keeps each test's recorded time, so it cannot say how much slower tests get
when more workers share the cores: more workers than cores need a real run.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from collections import defaultdict

import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    path = os.environ.get("VT_TIMELINE")
    start, cpu = time.time(), _cpu_seconds()
    yield
    if path:
        line = {"worker": os.environ.get("PYTEST_XDIST_WORKER", "main"), "test": item.nodeid,
                "start": start, "end": time.time(), "cpu": round(_cpu_seconds() - cpu, 3)}
        with open(path, "a", encoding="utf-8") as file:
            file.write(json.dumps(line) + "\n")


def _cpu_seconds() -> float:
    """User and system CPU of this process and of its children that ended and were waited for."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


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
    cpu: dict[str, float] = defaultdict(float)
    for t in lines:
        files[t["test"].split("::")[0]] += t["end"] - t["start"]
        cpu[t["test"].split("::")[0]] += t.get("cpu", 0.0)
    out.append(f"slowest files (summed test time; CPU seconds of {sum(cpu.values()):.0f} in all):")
    out += [f"  {seconds:6.1f} s  {cpu[name]:6.1f} s CPU  {name}"
            for name, seconds in sorted(files.items(), key=lambda kv: -kv[1])[:25]]
    return "\n".join(out)


def _unit(test: str) -> str:
    """xdist's work unit of a node id: its ``@group`` suffix, else the test itself (LoadGroupScheduling)."""
    return test.rpartition("@")[2] if test.rfind("@") > test.rfind("]") else test


def simulate(lines: list[dict], workers: int) -> tuple[float, list[float]]:
    """The wall time of the recorded tests run again by ``workers`` workers, scheduled as pytest-xdist 3.8's
    ``--dist loadgroup`` does, and how long each worker sits idle before the end. Work units (a group's tests
    together, every other test alone) are queued in the order they started, groups first (most tests
    first: ``--loadscope-reorder``); each worker starts with two units and gets the next one whenever at most
    two of its tests are left unfinished (``LoadScopeScheduling._reschedule``); a test takes its recorded time."""
    units: dict[str, list[float]] = {}
    for line in sorted(lines, key=lambda line: line["start"]):
        units.setdefault(_unit(line["test"]), []).append(line["end"] - line["start"])
    queue = sorted(units.values(), key=len, reverse=True)  # stable: singletons keep their order
    assigned: list[list[float]] = [[] for _ in range(min(workers, len(queue)))]
    clock = [0.0] * len(assigned)
    for _ in range(2):  # xdist: one unit each, then one more where at most 2 tests are pending
        for tests in assigned:
            if queue and (not tests or len(tests) <= 2):
                tests.extend(queue.pop(0))
    while any(assigned):  # the worker whose current test ends first reports it and may get the next unit
        worker = min((w for w, tests in enumerate(assigned) if tests), key=lambda w: clock[w] + assigned[w][0])
        clock[worker] += assigned[worker].pop(0)
        if queue and len(assigned[worker]) <= 2:
            assigned[worker].extend(queue.pop(0))
    end = max(clock)
    return end, [end - done for done in clock]


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as file:
        recorded = [json.loads(line) for line in file if line.strip()]
    if "--workers" in sys.argv:
        for count in map(int, sys.argv[sys.argv.index("--workers") + 1:]):
            wall, idle = simulate(recorded, count)
            print(f"{count} workers: {wall:.1f} s from the first test's start to the last one's end; idle at the end "
                  + ", ".join(f"{seconds:.1f}" for seconds in idle) + " s")
    else:
        print(summary(recorded))
