"""Benchmark the desktop sinks on a real Xvfb: how long delivery takes and how often it is exact.

Each case runs our sink and the bare command a shell script would use, alternating, into the
same focused Tk text window, and checks what arrived:

* typing: ``TypingSink`` (startDelay 0) vs ``xdotool type --delay 12 -- TEXT``;
* clipboard: ``ClipboardSink`` (copy, then read back until it holds the text) vs ``xclip -i``;
* paste: ``AutoSink`` on Unicode text (copy, verify, ctrl+v) vs ``xclip -i; xdotool key ctrl+v``.

    uv run python bench/output_sinks.py [--runs 10] [--out bench/results/70-output-sinks.md] [--json PATH]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "testing"))

from _common import RESULTS, Row, bench_parser, machine, repeats, write_outputs  # noqa: E402

from vt_testing.desktop import kill_clients, stop, wait_until  # noqa: E402
from vt_testing.x11 import free_display, tk_window  # noqa: E402

from voice_transcriber import RunContext, Transcript  # noqa: E402
from voice_transcriber.config import load_settings  # noqa: E402
from voice_transcriber_clipboard.sink import ClipboardSink  # noqa: E402
from voice_transcriber_typing.sink import AutoSink, TypingSink  # noqa: E402

ASCII = "Please send the report by Friday, and book the room for ten people."
UNICODE = "Café — naïve résumé, 😀 déjà vu: « ça marche » ñ ü ß."
NOTES = """Where our extra time goes: the typing sink looks at the focused window before and after typing
(xdotool + xprop, 10-20 ms each; a focus change makes the delivery doubtful) and releases modifiers still
held from the hotkey (`xdotool keyup --delay 0`, about 4 ms). Non-ASCII runs are typed at 40 ms per key
(`unicodeDelayMs`) instead of 12, on purpose: at 12 ms xdotool's briefly remapped keys get dropped by the
application now and then (the bare command lost a character in 1 of 10 Unicode runs in an earlier run of this
script; the typing tests measured 2 of 10 at 12 ms and 0 of 40 with our split). The clipboard sink reads the
selection back until it holds the text (a few ms), which is also how the paste waits for the copy to take
effect before sending the chord. Absolute costs stay small next to the typing itself.
"""
# No separator: each run appends exactly the text to the same window (a user would get a space between dictations)
QUIET = {"output.typing": {"startDelay": 0, "separator": ""}, "output.clipboard": {"pasteDelay": 0}}


def sink_call(sink_cls, text: str) -> Callable[[], None]:
    def call() -> None:
        sink_cls(RunContext(load_settings(overrides=QUIET), quiet=True)).deliver(text, Transcript(text, "bench"))
    return call


def bare_type(text: str) -> Callable[[], None]:
    return lambda: subprocess.run(["xdotool", "type", "--clearmodifiers", "--delay", "12", "--", text], check=True)


def bare_copy(text: str) -> None:
    subprocess.run(["xclip", "-selection", "clipboard", "-i"], input=text.encode(), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def bare_paste(text: str) -> Callable[[], None]:
    def call() -> None:
        bare_copy(text)
        subprocess.run(["xdotool", "key", "--clearmodifiers", "ctrl+v"], check=True)
    return call


def clipboard_holds(text: str) -> bool:
    out = subprocess.run(["xclip", "-selection", "clipboard", "-o"], capture_output=True, timeout=5).stdout
    return out.decode("utf-8", "replace") == text


def measure(call: Callable[[], None], check: Callable[[], bool]) -> tuple[float, bool]:
    start = time.perf_counter()
    call()
    elapsed = time.perf_counter() - start
    return elapsed, check()


def window_check(read: Callable[[], str], text: str) -> Callable[[], Callable[[], bool]]:
    """Before each run: remember the window's text; after: did exactly ``text`` get appended?"""
    def arm() -> Callable[[], bool]:
        before = read()
        def arrived() -> bool:
            try:
                wait_until(lambda: read() == before + text, 2.0, "text")
            except TimeoutError:
                return False
            return True
        return arrived
    return arm


def run_cases(read: Callable[[], str], runs: int) -> list[tuple[str, str, list, list]]:
    cases = [
        ("typing, ASCII", ASCII, sink_call(TypingSink, ASCII), bare_type(ASCII), True),
        ("typing, Unicode", UNICODE, sink_call(TypingSink, UNICODE), bare_type(UNICODE), True),
        ("clipboard, Unicode", UNICODE, sink_call(ClipboardSink, UNICODE), lambda: bare_copy(UNICODE), False),
        ("paste (auto), Unicode", UNICODE, sink_call(AutoSink, UNICODE), bare_paste(UNICODE), True),
    ]
    results = []
    for label, text, ours, bare, in_window in cases:
        samples: dict[str, list] = {"ours": [], "bare": []}
        for _ in range(runs + 1):  # the first round warms up and is dropped
            for side, call in (("ours", ours), ("bare", bare)):
                if in_window:
                    arrived = window_check(read, text)()
                    samples[side].append(measure(call, arrived))
                else:
                    samples[side].append(measure(call, lambda: clipboard_holds(text)))
        results.append((label, text, samples["ours"][1:], samples["bare"][1:]))
    return results


def table(results, runs: int) -> str:
    lines = ["| case | ours (median) | bare (median) | **ratio** | exact, ours | exact, bare |", "|---|---|---|---|---|---|"]
    for label, _text, ours, bare in results:
        mo, mb = statistics.median(t for t, _ in ours), statistics.median(t for t, _ in bare)
        lines.append(f"| {label} | {mo * 1000:.0f} ms | {mb * 1000:.0f} ms | **{mo / mb:.2f}** | "
                     f"{sum(ok for _, ok in ours)}/{runs} | {sum(ok for _, ok in bare)}/{runs} |")
    return "\n".join(lines)


def compared(results) -> list[Row]:
    return [Row(f"{label}: our sink ÷ the bare command (exact {sum(ok for _, ok in ours)}/{len(ours)} vs "
                f"{sum(ok for _, ok in bare)}/{len(bare)})",
                statistics.median(t for t, _ in ours), statistics.median(t for t, _ in bare))
            for label, _text, ours, bare in results]


def main() -> None:
    parser = bench_parser(__doc__, RESULTS / "70-output-sinks.md")
    parser.add_argument("--runs", type=int, default=repeats(10, 3))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="vt-bench-sinks-"))
    display = f":{free_display()}"
    xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.environ["DISPLAY"] = display
    os.environ.pop("WAYLAND_DISPLAY", None)
    try:
        wait_until(lambda: subprocess.run(["xdotool", "getdisplaygeometry"], capture_output=True).returncode == 0,
                   10, "Xvfb")
        with tk_window(display, work, title="VT_BENCH_TARGET") as target:
            results = run_cases(target.text, args.runs)
    finally:
        kill_clients("DISPLAY", display)
        stop(xvfb)
    report = (f"## Output sinks (clipboard, typing, auto)\n\n`uv run python bench/output_sinks.py --runs {args.runs}` — "
              f"{machine()}; Xvfb, no window manager, a Tk text window with the focus. Median of {args.runs} "
              "calls each, ours and bare alternating, after one warm-up round; *exact* counts the runs where "
              "exactly the text arrived (in the window, or on the clipboard for the clipboard case).\n\n"
              + table(results, args.runs) + "\n\n" + NOTES)
    write_outputs(args, "output_sinks", report, compared(results))


if __name__ == "__main__":
    main()
