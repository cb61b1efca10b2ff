"""What the network limits cost and what they save: memory against a 2 GB reply, CPU per ordinary call.

Every HTTP call of voice-transcriber has a whole-call deadline and a cap on the reply body
(``maxReplyBytes``, 32 MiB by default). Two measurements, each against a baseline in the same run:

* memory, ``--runs`` alternated rounds: peak RSS of ``voice-transcriber transcribe samples/jfk.flac
  --backend openai`` against a server that answers with 2 GB and no Content-Length (the hostile
  server of the tests, ``vt_testing.hostile_http``); what it grows by over the same command against
  a correct reply ÷ the 32 MiB cap, and its peak ÷ a bare ``httpx`` POST of the same file reading
  the same 2 GB reply (what a client without the cap does: it holds the whole reply);
* CPU per call, ``--pairs`` alternated blocks of ``--calls`` calls: our ``send()`` on a
  ``make_client()`` client (deadline, cap, retry bookkeeping) ÷ a bare ``httpx.Client.post`` with the
  same headers, both uploading 400 kB and reading a 2 kB JSON reply from a local keep-alive server
  (in its own process, so only the client's CPU is counted: ``time.process_time``).

    uv run python bench/http_limits.py [--runs 10] [--pairs 30] [--calls 20] [--out bench/results/43-http-limits.md] [--json PATH]

Peak RSS is each process's own maximum resident set (``wait4`` ru_maxrss). Nothing leaves the machine.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "testing"))
from _common import (RESULTS, Row, alternated, bench_parser, isolated_env, load_average, machine,  # noqa: E402
                     measure_process, repeats, write_outputs)
from vt_testing.hostile_http import endless, reply, running_hostile_server  # noqa: E402

VT = str(Path(sys.executable).with_name("voice-transcriber"))
JFK = ROOT / "samples" / "jfk.flac"
CAP_MB = 32.0  # the default maxReplyBytes, in the unit of ru_maxrss / 1024
GOOD = json.dumps({"text": "And so, my fellow Americans, ask not what your country can do for you."}).encode()
#: A bare POST of the same file that reads the whole reply: the client the cap replaced.
BARE_POST = """
import sys, httpx
with httpx.Client(timeout=300) as client:
    reply = client.post(sys.argv[1] + "/audio/transcriptions", data={"model": "whisper-1"},
                        files={"file": ("jfk.flac", open(sys.argv[2], "rb").read(), "audio/flac")})
    print(len(reply.content))
"""


def memory(runs: int) -> dict[str, list[float]]:
    """Peak RSS (MB) of each side over ``runs`` rounds, the sides alternated. This process stays small
    (the children's ru_maxrss would include its peak), so it imports neither httpx nor the core here."""
    with tempfile.TemporaryDirectory(prefix="vt-limits-") as tmp, running_hostile_server() as hostile, \
            running_hostile_server() as correct:
        hostile.serve(endless(hostile))  # 2 GB, no Content-Length, as fast as it is read
        correct.serve(reply(GOOD))
        env = isolated_env(tmp, VOICE_TRANSCRIBER_TRANSCRIPTION__OPENAI__API_KEY="sk-bench",
                           VOICE_TRANSCRIBER_TRANSCRIPTION__OPENAI__RESPONSE_FORMAT="json")

        def transcribe(url: str, expected: str) -> float:
            ran = measure_process([VT, "transcribe", str(JFK), "--backend", "openai", "--output", "stdout"],
                                  {**env, "VOICE_TRANSCRIBER_TRANSCRIPTION__OPENAI__BASE_URL": url}, check=False)
            assert expected in ran.err + ran.out, (ran.code, ran.err[-500:])
            print(f"transcribe: peak RSS {ran.peak_mb:.0f} MB, exit {ran.code}: {ran.err.strip()[:100]}", file=sys.stderr)
            return ran.peak_mb

        def bare() -> float:
            ran = measure_process([sys.executable, "-c", BARE_POST, hostile.url, str(JFK)], env)
            print(f"bare httpx: peak RSS {ran.peak_mb:.0f} MB, read {ran.out.strip()} bytes", file=sys.stderr)
            return ran.peak_mb

        return alternated({"hostile": lambda: transcribe(hostile.url, "reply too big: more than 32 MiB"),
                           "correct": lambda: transcribe(correct.url, "ask not what your country"),
                           "bare": bare}, runs)


def _serve_correct_replies(port: multiprocessing.connection.Connection) -> None:
    with running_hostile_server() as server:
        server.serve(reply(GOOD + b" " * (2048 - len(GOOD))))
        port.send(server.url)
        port.recv()  # until the parent is done


def cpu_per_call(pairs: int, calls: int) -> dict[str, list[float]]:
    """CPU seconds per call of each client, one block of ``calls`` calls per side per pair."""
    import httpx

    from voice_transcriber.http import make_client, send

    parent, child = multiprocessing.Pipe()
    server = multiprocessing.get_context("fork").Process(target=_serve_correct_replies, args=(child,), daemon=True)
    server.start()
    url = parent.recv() + "/audio/transcriptions"
    upload = os.urandom(400_000)
    ours = make_client()
    bare = httpx.Client(headers=dict(ours.headers), timeout=ours.timeout)

    def our_call() -> None:
        assert send(ours, "POST", url, service="bench", content=upload).json()["text"]

    def bare_call() -> None:
        assert bare.post(url, content=upload).json()["text"]

    def block(call) -> float:
        start = time.process_time()
        for _ in range(calls):
            call()
        return (time.process_time() - start) / calls

    try:
        return alternated({"ours": lambda: block(our_call), "bare": lambda: block(bare_call)}, pairs, warmup=1)
    finally:
        ours.close()
        bare.close()
        parent.send("done")
        server.join(10)


def main() -> None:
    parser = bench_parser(__doc__, RESULTS / "43-http-limits.md")
    parser.add_argument("--runs", type=int, default=repeats(10, 2), help="memory rounds (default 10; 2 with --quick)")
    parser.add_argument("--pairs", type=int, default=repeats(30, 5), help="CPU pairs of blocks (default 30; 5 with --quick)")
    parser.add_argument("--calls", type=int, default=20, help="calls per block (default 20)")
    args = parser.parse_args()
    load_before = load_average()
    peaks = memory(args.runs)
    load_between = load_average()
    cpu = cpu_per_call(args.pairs, args.calls)
    hostile, correct, bare = (statistics.median(peaks[side]) for side in ("hostile", "correct", "bare"))
    ours_cpu, bare_cpu = statistics.median(cpu["ours"]), statistics.median(cpu["bare"])
    rows = [
        Row("peak RSS growth of `transcribe` against a 2 GB reply without Content-Length (over the same against a "
            "correct reply) ÷ the 32 MiB reply cap", hostile - correct, CAP_MB, "MB", "<= 2"),
        Row("peak RSS against a 2 GB reply: `transcribe` (32 MiB cap) ÷ a bare httpx POST reading the reply",
            hostile, bare, "MB", "<= 0.1"),
        Row("CPU per call, 400 kB upload + 2 kB reply: `send()` with deadline and cap ÷ bare `httpx.Client.post`",
            ours_cpu, bare_cpu, "s", "<= 1.5"),
    ]

    def spread(values: list[float]) -> str:
        return f"{min(values):.0f} – {max(values):.0f}"

    markdown = f"""## HTTP limits: memory against a 2 GB reply, CPU per call

`uv run python bench/http_limits.py` — {machine()}. Load average at the start: {load_before}; after the
memory rounds: {load_between}; at the end: {load_average()} (other jobs shared the machine).

**Peak RSS** ({args.runs} rounds, the three sides alternated; `transcribe samples/jfk.flac --backend openai`, a
local server; the default `maxReplyBytes` of 32 MiB):

| | peak RSS (median) | min – max |
|---|---|---|
| `transcribe`, server sends 2 GB without Content-Length (fails: “reply too big”) | {hostile:.0f} MB | {spread(peaks['hostile'])} MB |
| `transcribe`, correct reply | {correct:.0f} MB | {spread(peaks['correct'])} MB |
| bare httpx POST of the same file, reading the 2 GB reply | {bare:.0f} MB | {spread(peaks['bare'])} MB |

Against 2 GB the process grows by {hostile - correct:.0f} MB over a correct call, about the 32 MiB cap (goal: at
most twice the cap); the bare client holds the whole reply (goal: ours ≤ 0.1 × its peak). MB here are MiB
(ru_maxrss ÷ 1024).

**CPU per call** (median of {args.pairs} alternated pairs of {args.calls}-call blocks, after one warm-up pair;
CPU time of this process, the server runs in another): `send()` on a `make_client()` client
{ours_cpu * 1000:.2f} ms, bare `httpx.Client.post` {bare_cpu * 1000:.2f} ms — {(ours_cpu - bare_cpu) * 1000:+.2f} ms per
call for the whole-call deadline, the reply cap and `send()`'s retry bookkeeping (goal ≤ 1.5 ×; a real
transcription call takes hundreds of milliseconds to seconds).
"""
    write_outputs(args, "http_limits", markdown, rows,
                  notes=f"2 GB reply: peak RSS {hostile:.0f} MB (+{hostile - correct:.0f} MB over a correct call), "
                        f"bare httpx {bare:.0f} MB; limits cost {(ours_cpu - bare_cpu) * 1000:+.2f} ms CPU per call")


if __name__ == "__main__":
    main()
