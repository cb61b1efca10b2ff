"""The executable runs numpy's BLAS (OpenBLAS) with one thread unless the environment says otherwise.

OpenBLAS starts a thread per core when numpy loads, and they spin after each matrix product; nothing the
tool does with numpy gains from them (``voice_transcriber.__main__.BLAS_THREADS``). Counted as the kernel
sees them: the threads of a process that ran the entry point, then imported numpy.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

#: The entry point as the console script runs it (``--version`` answers and returns), then numpy.
PROGRAM = """
import os, sys
sys.argv = ["voice-transcriber", "--version"]
from voice_transcriber.__main__ import main
main()
import numpy
print(len(os.listdir("/proc/self/task")))
"""


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="on one core OpenBLAS starts no thread of its own")
@pytest.mark.parametrize(("preset", "threads"), [(None, 1), ("2", 2)])
def test_numpy_blas_has_one_thread_in_the_executable_unless_the_environment_sets_it(preset, threads):
    env = {var: value for var, value in os.environ.items() if var != "OPENBLAS_NUM_THREADS"}
    if preset is not None:
        env["OPENBLAS_NUM_THREADS"] = preset
    done = subprocess.run([sys.executable, "-c", PROGRAM], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    version, count = done.stdout.splitlines()
    assert version.startswith("voice-transcriber, version ")
    assert int(count) == threads
