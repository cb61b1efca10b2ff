"""A backend's prepare() still running when the process exits is let finish (bounded), not cut off."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_a_prepare_still_running_at_exit_finishes_before_the_interpreter_shuts_down(tmp_path):
    marker = tmp_path / "prepared"
    script = textwrap.dedent(f"""
        import time
        from voice_transcriber import Backend, Transcript
        from voice_transcriber.config import load_settings
        from voice_transcriber.context import RunContext
        from voice_transcriber.pipeline import Plan, prepare_in_background

        class SlowToLoad(Backend):
            name = "slow"
            def prepare(self):
                time.sleep(0.5)  # a model still loading when the run is cancelled
                open({str(marker)!r}, "w").write("done")
            def transcribe(self, audio):
                return Transcript("", backend=self.name)

        ctx = RunContext(load_settings())
        prepare_in_background(Plan(backends=[SlowToLoad(ctx)]), ctx)
        raise SystemExit(130)  # e.g. cancelled at once
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 130, result.stderr
    assert marker.read_text() == "done"


def test_the_executable_ends_at_once_when_its_run_is_over_and_a_prepare_still_loads(tmp_path):
    """``cancel --wait`` on a recorder still loading its model: once the command is over (here: exit 130), the
    executable's process ends with that status without waiting for the load (nothing of it is wanted any more),
    after what it printed and the exit handlers registered since the run began (a notification closed)."""
    marker = tmp_path / "exit-handler"
    script = textwrap.dedent(f"""
        import atexit, sys, threading
        from voice_transcriber import Backend, Transcript, pipeline
        from voice_transcriber.config import load_settings
        from voice_transcriber.context import RunContext
        from voice_transcriber.pipeline import Plan, prepare_in_background

        pipeline.PREPARE_EXIT_WAIT = 600  # were the load waited for, this would outlive the test's deadline

        class NeverLoaded(Backend):
            name = "never"
            def prepare(self):
                threading.Event().wait()  # a model still loading
            def transcribe(self, audio):
                return Transcript("", backend=self.name)

        def command(argv):  # a recording cancelled while its backend prepares
            ctx = RunContext(load_settings())
            prepare_in_background(Plan(backends=[NeverLoaded(ctx)]), ctx)
            atexit.register(lambda: open({str(marker)!r}, "w").write("ran"))
            print("printed before the exit", end="")
            sys.exit(130)

        import voice_transcriber.__main__ as entry
        entry._main = command
        entry.main()
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 130, result.stderr
    assert result.stdout == "printed before the exit"
    assert marker.read_text() == "ran"
