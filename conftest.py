"""Fixtures shared by every test suite in the workspace.

Service fixtures live in ``testing/vt_testing/`` (on sys.path via the ``pythonpath``
ini option), one module per area, and are loaded here with the public test helpers of
``voice_transcriber.testing``.

Isolation, in two layers, so that a test run never reads or writes the user's own state:

* for the whole session (every xdist worker, and the controller, is its own session):
  ``HOME`` and every XDG base directory, ``XDG_RUNTIME_DIR`` included, point into a private
  temporary folder, and the variables that lead to the user's desktop (display, Wayland,
  session bus, desktop name) are removed; see :func:`isolate_session`. This covers what runs
  outside any test: collection, session fixtures, their subprocesses.
* for each test (``isolated_dirs``, autouse, from the public ``voice_transcriber.testing.pytest_plugin``
  that plugin authors use too): fresh, empty XDG directories of its own, no ``VOICE_TRANSCRIBER_*``.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings

pytest_plugins = [
    "voice_transcriber.testing.pytest_plugin",  # isolated_dirs (autouse), the fakes, cli, write_config
    "vt_testing.speech",
    "vt_testing.core",
    "vt_testing.pulse",
    "vt_testing.desktop",  # no fixtures, as gnome_shell: listed so that pytest rewrites their asserts
    "vt_testing.x11",
    "vt_testing.i3",
    "vt_testing.sway",
    "vt_testing.gnome_shell",
    "vt_testing.gnome",
    "vt_testing.tool_stubs",
    "vt_testing.openai_api",
    "vt_testing.hostile_http",
    "vt_testing.http_backends",
    "vt_testing.dbus",
    "vt_testing.fake_portal",
    "vt_testing.passages",
    "vt_testing.installed",
    "vt_testing.hotkeys",
    "vt_testing.state",  # fresh_process_state (autouse): what one test leaves in the process, reset for the next
    "vt_testing.timeline",  # VT_TIMELINE=FILE: each test's start and end per worker, for the suite's wall time
]

#: The per-user base directories of the XDG Base Directory specification (as voice_transcriber.testing's;
#: not imported from it: nothing of voice_transcriber may load before the session is isolated).
XDG_HOMES = ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_RUNTIME_DIR")
#: Variables that would let a test reach the user's desktop session; the desktop fixtures set their own.
DESKTOP_VARS = ("DISPLAY", "WAYLAND_DISPLAY", "SWAYSOCK", "I3SOCK", "HYPRLAND_INSTANCE_SIGNATURE",
                "YDOTOOL_SOCKET", "DBUS_SESSION_BUS_ADDRESS", "XDG_SESSION_TYPE", "XDG_CURRENT_DESKTOP",
                "XDG_SESSION_DESKTOP", "XDG_SESSION_ID", "XDG_SEAT", "XDG_VTNR", "DESKTOP_SESSION",
                "XAUTHORITY")
#: The caller's values, for the test that proves they were left alone.
CALLER_ENV = {var: os.environ.get(var) for var in ("HOME", *XDG_HOMES)}

# Nothing in the test suite may reach a model hub.
os.environ["HF_HUB_OFFLINE"] = "1"

# Python's bytecode cache, as on any user's machine: the suite starts the real `voice-transcriber` as a
# process over a thousand times, and an environment with PYTHONDONTWRITEBYTECODE (some container images,
# CI's among them) makes every one of them compile click, pydantic, … and voice_transcriber from source
# again (`status`: 0.55 s of CPU instead of 0.2 s). This process, the xdist workers and everything they start
# write __pycache__ folders (git-ignored) next to the sources, once; Python writes them atomically.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
sys.dont_write_bytecode = False

# CTranslate2's OpenMP threads (GNU libgomp) sleep when they have nothing to do instead of spinning first. The
# suite runs 4 workers on 2 cores, and a spinning thread only takes CPU from another test: loading tiny.en
# (int8, quantised at load in many small parallel steps), which the suite does in a process over a hundred
# times, took 0.65–0.90 CPU-s with the default policy and 0.37–0.42 with this one (AMD EPYC, 2026-12-07). The
# texts are the same (the same arithmetic). The product sets the same policy when its local backend loads
# (voice_transcriber_backends.local_head_start.quiet_openmp); here it holds for everything the suite starts too,
# the fake servers' models and the helper scripts that load faster-whisper themselves.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# numpy's BLAS with one thread, as the `voice-transcriber` executable has it (voice_transcriber.__main__.BLAS_THREADS),
# for the tests that run the pipeline in the worker and the helper processes they start.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

# Property tests (hypothesis), unless a test says otherwise: no per-example deadline (a timed assertion: a loaded
# 2-core CI machine took 320 ms for an example against the default 200 ms), the same examples on every run (a CI
# failure can be run again), and no example database written into the checkout.
settings.register_profile("voice-transcriber-suite", deadline=None, derandomize=True, database=None)
settings.load_profile("voice-transcriber-suite")


def _private_dir(prefix: str) -> Path:
    # Short paths under /tmp: a Unix socket path (daemon.sock, sway, pulse) has at most 107 bytes.
    return Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp" if os.path.isdir("/tmp") else None))


def isolate_session() -> Path:
    """Point HOME and every XDG base dir into one private folder for this whole process."""
    # uv, run by a test (plugin installs, wheel builds), keeps the caller's package cache: offline
    # installs read it. Only uv's own cache: voice-transcriber's state stays isolated below.
    os.environ.setdefault("UV_CACHE_DIR", str(Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "uv"))
    root = _private_dir("vt-session-")
    # uv, run by the packaging tests (a tool install, plugin projects), keeps the caller's package cache, as
    # `uv sync` does: what is cached needs no network. It is a cache of downloads, not the user's state.
    os.environ.setdefault("UV_CACHE_DIR", os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "uv"))
    for var in XDG_HOMES:
        path = root / var.lower().removeprefix("xdg_")
        path.mkdir(mode=0o700)
        os.environ[var] = str(path)
    home = root / "home"
    home.mkdir(mode=0o700)
    os.environ["HOME"] = str(home)  # never the user's ~
    # System-wide search paths: the defaults, not whatever the caller's session added.
    os.environ["XDG_CONFIG_DIRS"] = "/etc/xdg"
    os.environ["XDG_DATA_DIRS"] = "/usr/local/share:/usr/share"
    for var in DESKTOP_VARS:
        os.environ.pop(var, None)
    # The caller's terminal size (or the 80x24 that xdist workers get) must not change what tests read.
    for var in ("COLUMNS", "LINES"):
        os.environ.pop(var, None)
    return root


# At import, before any test module (or what it imports) reads the environment.
SESSION_ROOT = isolate_session()


@pytest.fixture(autouse=True)
def seeded_plugin_index(isolated_dirs) -> None:
    """Each test's fresh cache starts with the plugin index, as a user's has after their first command
    (:func:`vt_testing.core.seed_plugin_index`, made once per process): without it, the first command of
    every test would import every plugin to write it again (~0.1 s of CPU per test that runs the CLI in a
    process). The index checks itself (entry points, versions, module times): a plugin a test installs or
    breaks makes it stale, and the run loads every plugin, as for a user. The tests of the index itself
    use caches of their own."""
    from vt_testing.core import seed_plugin_index

    seed_plugin_index()


def pytest_xdist_auto_num_workers(config) -> int:
    """``-n auto`` (pyproject.toml): one worker per core, plus two (4 on CI's 2 cores).

    Most of the suite waits on real time (speech played into the virtual mic, key holds, desktops
    starting), so the cores sat idle with one worker per core. Fresh-clone runs of ``bash .ci/run`` at
    low load (2026-12-06): 2 workers ~350 s with the cores 25-29 % idle; 3 workers 296.5 s, 19.5 % idle;
    4 workers 269.8 s, 5 % idle — the CPU is then used, and a fifth would only queue. The order of the
    tests cannot do it instead: every worker ends within a second of the others (``python
    testing/vt_testing/timeline.py FILE --workers N`` replays a run's timeline). The price is less CPU
    for the tests that are load-sensitive; they wait for conditions, never for times, and whole-suite
    runs on a machine loaded far above CI (load 5-30) failed only on races that such a load exposes with
    two workers as well. ``PYTEST_XDIST_AUTO_NUM_WORKERS`` overrides (``=2`` for one per core); ``-n 0``
    runs in one process.
    """
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS", "").isdigit():  # this hook runs before xdist's own
        return int(os.environ["PYTEST_XDIST_AUTO_NUM_WORKERS"])
    return len(os.sched_getaffinity(0)) + 2


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items) -> None:
    """``xdist_group`` marks work again (``--dist loadgroup``): the tests of a group run in one worker, which
    makes the group's session fixtures once (a headless GNOME Shell, a tool install, a checkout copy).

    xdist (3.8) tells its scheduler a test's group by appending ``@GROUP`` to the test's id, which it sets as
    ``item._nodeid``; pytest 9.2 keeps the id in ``item._id``, so the suffix never arrived and every group
    was spread over the workers (pytest-dev/pytest-xdist#1386). This sets it where pytest 9.2 reads it, as
    xdist would; it does nothing where xdist's own suffix arrived (an xdist or pytest with the fix).
    """
    if not config.getoption("loadgroup", default=False):  # set on xdist's workers under --dist loadgroup
        return
    from _pytest.nodeid import NodeId

    for item in items:
        groups = sorted({str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
                         for mark in item.iter_markers("xdist_group")})
        if groups and "@" not in item.nodeid.rpartition("]")[2] and hasattr(item, "_id"):
            item._id = NodeId.parse(f"{item.nodeid}@{'_'.join(groups)}")


def pytest_unconfigure(config) -> None:
    shutil.rmtree(SESSION_ROOT, ignore_errors=True)
