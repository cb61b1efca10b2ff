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
