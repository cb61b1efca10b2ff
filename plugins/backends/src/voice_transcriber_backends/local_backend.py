"""The ``local`` backend: offline transcription with faster-whisper (CTranslate2) on this machine.

The default backend. The model loads in the background while the user speaks
(:meth:`LocalBackend.prepare`), once per process and configuration; segments reach the
pipeline through ``ctx.partial_text`` as they are decoded. Models are found by
:mod:`voice_transcriber_backends.local_models`; ``voice-transcriber models`` manages them.
While recording, the core hands it each finished phrase (``transcribe_segment``) in one worker
thread, prompted with the text decided before it, in an encoder window fitted to the phrase (a
whole recording that fits in one Whisper window, at most 30 s, is fitted too).
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import sys
import threading
from concurrent.futures import Future
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from voice_transcriber import Audio, Backend, BackendError, Check, ConfigError, Segment, Transcript, hookimpl

from . import local_head_start, local_models
from .local_head_start import quiet_openmp
from .local_config import SECTION, LocalConfig
from .local_models import ResolvedModel, first_line, hub_offline
from .languages import WHISPER_LANGUAGES, whisper_languages
from .prompts import hotwords, segment_prompt, transcription_prompt
from .runaway import collapse_repeats, max_new_tokens, says_twice, without_runaway

if TYPE_CHECKING:
    import numpy as np

quiet_openmp()  # set as this plugin is loaded, before anything imports ctranslate2

INSTALL_FIX = "install it: `pip install 'voice-transcriber-backends[local]'` (the voice-transcriber distribution includes it)"
@dataclass(frozen=True)
class LoadedModel:
    """A faster-whisper model in memory and how it was set up."""

    whisper: Any  # faster_whisper.WhisperModel
    model: ResolvedModel
    device: str
    compute_type: str
    cpu_threads: int
    idle: bool = False  #: the instance for re-decodes, at a lower CPU priority (:func:`idle_model`)


# Loaded models are shared across LocalBackend instances of one process: `transcribe a b c`
# builds a backend per file, and prepare() (background thread) races transcribe().
_loads: dict[tuple[Any, ...], Future[LoadedModel]] = {}
_loads_lock = threading.Lock()


def shared_model(key: tuple[Any, ...], load: Callable[[], LoadedModel]) -> LoadedModel:
    """Load once per ``key``. Callers arriving during a load wait for it and share its outcome,
    error included; a call after a failed load tries again."""
    with _loads_lock:
        future = _loads.get(key)
        owner = future is None or (future.done() and future.exception() is not None)
        if owner:
            future = _loads[key] = Future()
    if owner:
        try:
            future.set_result(load())
        except BaseException as exc:  # handed to every waiter, re-raised below
            future.set_exception(exc)
    return future.result()


class LocalBackend(Backend):
    name = "local"
    description = "Offline transcription on this machine with faster-whisper (CTranslate2)."
    config_section = SECTION
    config_model = LocalConfig
    #: ``language`` was checked against the model (:meth:`_refuse_unknown_language`)
    _language_known = False
    #: ``--debug``: decodes of re-decodes made, and of them those on the idle instance (:meth:`_count_beside`)
    _redecodes = _beside = _background_calls = 0
    _counts_lock = threading.Lock()

    def prepare(self) -> None:
        """Load the model (the core calls this in a background thread when recording starts)."""
        self.loaded()

    def loaded(self) -> LoadedModel:
        """The model, loaded once per process for what loading depends on (which model, where, on what):
        configurations that differ only in how they decode (beam size, hot words, VAD, windows, prompts)
        share it, e.g. a daemon whose reloaded config changed the beam size, or a benchmark of beam sizes."""
        config = self.config
        self._refuse_unknown_language()
        language = self.ctx.settings.language if config.model == local_models.AUTO else None  # picks the model
        key = (config.model, config.cache_dir, config.allow_download, config.device, config.compute_type,
               config.cpu_threads, language)
        # the core's background re-decode thread (background_redecodes) gets an instance of its own whose compute
        # threads run at a lower CPU priority: a re-decode on it runs beside a phrase's decode on the first instance
        # instead of in front of it, and yields the CPU to it (the same weights, the same text: tested). Until
        # it is loaded (at that priority too: longer on a busy machine), re-decodes use the first instance. Its load
        # starts at the IDLE_AFTER-th re-decode: a short dictation never loads the second copy
        idle = None
        if self.in_background():
            with self._counts_lock:
                self._background_calls += 1
                start = self._background_calls >= IDLE_AFTER
            idle = idle_model(key, functools.partial(self._load, fresh=True), start=start)
        loaded = idle or shared_model(key, self._load)
        if config.vad_filter:
            _load_vad()  # cached by faster-whisper: a no-op after the first
        return loaded

    def transcribe(self, audio: Audio) -> Transcript:
        return self._transcribe(audio, context=None)

    def _count_beside(self, loaded: LoadedModel) -> None:
        """``--debug``: how many decodes of re-decodes ran on the idle instance (the others on the first one,
        in the phrases' queue, while it loaded)."""
        if not self.in_background():
            return
        with self._counts_lock:
            self._redecodes += 1
            self._beside += loaded.idle
            self.ctx.info["local: re-decodes' decodes beside the phrases' ones"] = f"{self._beside} of {self._redecodes}"

    @property
    def background_redecodes(self) -> bool:
        """On the CPU, re-decodes of the phrase being spoken run beside the phrases' decodes, on a second
        instance of the model whose threads run at a lower CPU priority (:func:`idle_model`; one more copy
        of the model in memory: ~40 MB for tiny.en)."""
        return self.config.background_redecodes and self._runtime()[0] == "cpu"

    def languages(self) -> dict[str, str]:
        """From the model's name (``*.en`` are English-only); a model not on disk yet: the one ``auto`` would fetch."""
        config = self.config
        try:
            found, name = local_models.locate(config.model, self.ctx.settings.language, config.models_dir())
        except BackendError:
            return WHISPER_LANGUAGES  # a broken model directory is reported when it loads
        if found is None:
            return whisper_languages(name)
        return whisper_languages(found.name, found.path)

    def _refuse_unknown_language(self) -> None:
        """A language the model cannot transcribe is refused before any load, as the core's config check
        words it (exit 2): told from the model's name or its vocabulary on disk, it needs no model in
        memory, and loading one only to refuse it cost seconds and a second copy of the weights. Checked once
        per backend (its settings do not change): counting the vocabulary costs ~5 ms of CPU, and every
        decode of a streamed dictation asks for the model."""
        language = self.ctx.settings.language
        if language is None or self._language_known:
            return
        known = self.languages()
        if language in known:
            self._language_known = True
            return
        problem = (f"knows only English (en); {self.language_fix()}" if set(known) == {"en"} else
                   'does not know it; use a code it knows (ISO-639-1, e.g. "fr"), or "auto" to detect the language')
        raise ConfigError(f"language: '{language}': backend '{self.name}' {problem}")

    def language_fix(self) -> str:
        return ('set transcription.local.model to a multilingual model such as "base" or "small" '
                f"(now {self.config.model!r}), or use a language it knows")

    def transcribe_segment(self, audio: Audio, context: str) -> Transcript:
        """One phrase while recording (the core's single worker thread), prompted with the text decided before it,
        ``phraseBeamSize`` wide."""
        return self._transcribe(audio, context=context, beam_size=self._phrase_beam())

    @property
    def decodes_stop_rest_apart(self) -> bool:
        """The rest of the phrase a stop ends, after its agreed words, gets its own silence margin
        (``stopMarginSeconds``) when that differs from ``continuationMarginSeconds``, or its own beam
        width (:meth:`_stop_beam`) when that differs from the other phrases' (``phraseBeamSize``), or a shorter prompt
        (``stopPromptTokens``)."""
        config = self.config
        return (self._stop_margin_apart or self._stop_beam() != self._phrase_beam()
                or bool(config.stop_prompt_tokens and config.stop_prompt_tokens < PROMPT_TOKENS))

    def _phrase_beam(self) -> int:
        """The beam width of what is transcribed while recording (``phraseBeamSize``, else ``beamSize``)."""
        return self.config.phrase_beam_size or self.config.beam_size

    def _stop_beam(self) -> int:
        """The beam width of the rest a stop leaves (``stopBeamSize``, else ``beamSize``): the decode waited for."""
        return self.config.stop_beam_size or self.config.beam_size

    @property
    def _stop_margin_apart(self) -> bool:
        config = self.config
        return bool(config.fit_window and config.stop_margin_seconds is not None
                    and config.stop_margin_seconds != config.continuation_margin_seconds)

    def transcribe_continuation(self, before: Audio, before_text: str, audio: Audio, context: str, *,
                                partial: bool = False, stop_rest: bool = False) -> Transcript:
        """A phrase heard after the phrase before it: Whisper's encoder gets both, its decoder is
        held to ``before_text`` for the first (faster-whisper's ``prefix``, decoded without
        timestamps so that it goes on past it) and the rest is this phrase's text. A phrase is
        then judged with the sound before it, as in one piece (measured: docs/streaming.md).
        ``stop_rest``: what follows the agreed words of the phrase a stop ends (what the user waits
        for), decoded with ``stopMarginSeconds`` of silence after it, not ``continuationMarginSeconds``,
        ``stopBeamSize`` wide (else ``beamSize``) and with at most ``stopPromptTokens`` of prompt when set; any other
        phrase ``phraseBeamSize`` wide."""
        import numpy as np

        head, tail = before.pcm(), audio.pcm()
        with self.ctx.stage("local model wait"):
            loaded = self.loaded()
        whisper = loaded.whisper
        prefix = " ".join(before_text.split())
        prefix_tokens = _prompt_tokens(whisper, prefix)
        room = self.config.stop_prompt_tokens if stop_rest else None
        beam = self._stop_beam() if stop_rest else self._phrase_beam()
        alone_context = " ".join(part for part in (context, before_text) if part)  # for this phrase heard alone
        if prefix_tokens > PROMPT_TOKENS // 2:  # a long phrase said fast: hear this one alone
            return self._transcribe(audio, alone_context, beam)
        language = self._language(loaded)
        # the rest a stop leaves is the recording's last words: no phrase follows to hear their end again
        words: list[Segment] | None = [] if self._timing_words(partial) and not stop_rest else None
        margin = self.config.stop_margin_seconds if stop_rest and self._stop_margin_apart else None
        heard, _, language = self._run(loaded, np.concatenate([head, tail]), language, context, whole=False,
                                       prefix=prefix, prefix_tokens=prefix_tokens, own_seconds=tail.size / 16_000,
                                       words=words, margin_seconds=margin, beam_size=beam, prompt_tokens=room)
        seconds = tail.size / 16_000
        if heard[-1:].isalnum() and not partial:  # (the phrase still being spoken may well end mid-sentence)
            # held to a text, tiny.en sometimes stops early, mid-sentence and without punctuation ("… ask
            # what you can do for" without "your country", which repeats words of the prefix); a phrase
            # it heard to its end ends with a full stop or a comma. Then the phrase heard alone, if it says more
            with self.ctx.stage("local: phrase heard alone as well"):  # (the wait after stop's breakdown)
                alone = self._transcribe(audio, alone_context, beam)
            if len(alone.text.split()) > len(heard.split()):
                self.ctx.log(f"local: the phrase heard after the one before ended early ({heard!r}); heard alone instead")
                return alone
        before_seconds = head.size / 16_000
        own = tuple(Segment(word.start - before_seconds, word.end - before_seconds, word.text)
                    for word in _after_prefix_words(words or [], prefix))
        return Transcript(text=heard, backend=self.name, language=language, model=loaded.model.name,
                          segments=(Segment(0.0, seconds, heard),) if heard else (), audio_duration=seconds,
                          extra={"model_path": str(loaded.model.path), "device": loaded.device},
                          words=_own_words(own, heard))

    def _transcribe(self, audio: Audio, context: str | None, beam_size: int | None = None) -> Transcript:
        """The audio window by window (one window unless it is longer than :data:`WINDOW_SECONDS`),
        decoded as a stream: a two-hour file is never in memory whole. ``beam_size``: default ``beamSize``."""
        # Decoding first, not beside a background load: in an A/B run on 2 cores the overlap cost
        # more CPU and wall time than it saved. Unreadable audio fails before any load.
        parts = windows(audio)
        offset, samples = next(parts)
        # a whole recording Whisper hears in one window (at most 30 s, no window after it) may be fitted
        # (:meth:`_run`); with the 120 s windows a short first window always is the last, so nothing is read ahead
        following = next(parts, None) if samples.size <= ONE_WINDOW_SECONDS * 16_000 else None
        one_window = samples.size <= ONE_WINDOW_SECONDS * 16_000 and following is None
        if following is not None:
            parts = itertools.chain([following], parts)
        with self.ctx.stage("local model wait"):
            loaded = self.loaded()  # joins a load prepare() started, error included
        self.ctx.info["local model"] = f"{loaded.model.name} ({loaded.model.origin})"
        language = self._language(loaded)
        text, segments, seconds = "", [], 0.0
        # a streamed phrase: its words' timings, when they are wanted
        words: list[Segment] | None = [] if context is not None and self._timing_words() else None
        while samples is not None:
            seconds = offset + samples.size / 16_000
            if samples.size:
                prompt_context = context if not text else text[-200:]
                heard, found, language = self._run(loaded, samples, language, prompt_context, offset=offset, before=text,
                                                   whole=context is None, words=words if not offset else None,
                                                   one_window=one_window, beam_size=beam_size)
                text = f"{text} {heard}".strip() if heard else text
                segments += found
            offset, samples = next(parts, (seconds, None))
        return Transcript(text=text, backend=self.name, language=language, model=loaded.model.name,
                          segments=tuple(segments), audio_duration=seconds,
                          extra={"model_path": str(loaded.model.path), "device": loaded.device},
                          words=_own_words(tuple(words or ()), text))

    def _timing_words(self, partial: bool = True) -> bool:
        """The streaming core commits words of the phrase being spoken (``input.streamingCommit``) or hears
        only the end of the phrase before again (``input.streamingOverlapSeconds``): give each streamed
        phrase's words with their timings. With ``input.streamingCommitAtStop`` only the re-decodes of the
        phrase being spoken (``partial``; a first phrase's cannot be told apart) need them."""
        settings = self.ctx.settings.input
        return bool(settings.streaming_commit or (settings.streaming_commit_at_stop and partial)
                    or (settings.streaming_overlap and settings.streaming_overlap_seconds))

    def checks(self) -> Iterable[Check]:
        try:
            local_head_start.import_faster_whisper()
        except ImportError:
            return [Check("local faster-whisper", False, "not installed", INSTALL_FIX)]
        return [self._model_check(), Check("local device", True, "{}, compute type {}, {} CPU threads".format(*self._runtime()))]

    def _model_check(self) -> Check:
        config = self.config
        try:
            found, name = local_models.locate(config.model, self.ctx.settings.language, config.models_dir())
            if found is not None:
                local_models.check_directory(found.path)
        except BackendError as exc:
            return Check("local model", False, str(exc), "`voice-transcriber models list` shows the models on this machine")
        if found is not None:
            return Check("local model", True, f"{found.name} ({found.origin}) at {found.path}")
        pull = f"`voice-transcriber models pull {name}`"
        if config.allow_download and not hub_offline():
            return Check("local model", True, f"{name} is not downloaded yet; the first run downloads it (or run {pull} now)")
        problem = local_models.unavailable(name, self.ctx.settings.language, config.models_dir(),
                                           local_models.OFFLINE_BY_ENV if hub_offline() else local_models.OFFLINE_BY_CONFIG)
        return Check("local model", False, problem.cause, problem.fix)

    def _runtime(self) -> tuple[str, str, int]:
        """(device, compute type, CPU threads) that ``auto`` and 0 stand for on this machine."""
        device = self.config.device
        if device == "auto":
            import ctranslate2

            device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
        compute_type = self.config.compute_type
        if compute_type == "auto":
            compute_type = "int8" if device == "cpu" else "float16"
        return device, compute_type, self.config.cpu_threads or cpu_cores()

    def _load(self, fresh: bool = False) -> LoadedModel:
        """``fresh``: a second instance, for re-decodes (:attr:`background_redecodes`), built in the calling thread."""
        try:
            WhisperModel = local_head_start.whisper_model_class()  # noqa: N806
        except ImportError:
            raise BackendError(f"the local backend needs faster-whisper, which is missing: {INSTALL_FIX}") from None
        config = self.config
        model = local_models.resolve(config.model, self.ctx.settings.language, config.models_dir(),
                                     allow_download=config.allow_download, progress=not self.ctx.quiet)
        local_models.check_directory(model.path)
        device, compute_type, threads = self._runtime()
        if config.vad_filter:
            _load_vad()  # here too: before the model, while a head start's load runs in its thread
        # loading since the start? (not the re-decodes' instance: its threads must be started by the idle thread)
        whisper = None if fresh else local_head_start.take(str(model.path), device, compute_type, threads)
        if whisper is None:
            try:
                whisper = WhisperModel(str(model.path), device=device, compute_type=compute_type, cpu_threads=threads,
                                       local_files_only=True)
            except (RuntimeError, ValueError, OSError) as exc:
                raise BackendError(f"cannot load local model '{model.name}' from {model.path}: "
                                   f"{first_line(exc)} ({_load_fix(exc, model)})") from None
        else:
            self.ctx.info["local model head start"] = "used"
        self.ctx.log(f"local model {model.name} ({model.origin}) at {model.path} on {device}/{compute_type}, {threads} threads"
                     + (", for re-decodes at a lower priority" if fresh else ""))
        if not fresh:
            self.ctx.remember_head_start("local", local_head_start.payload(str(model.path), device, compute_type, threads))
        return LoadedModel(whisper, model, device, compute_type, threads, idle=fresh)

    def _language(self, loaded: LoadedModel) -> str | None:
        language = self.ctx.settings.language
        if loaded.whisper.model.is_multilingual:
            return language
        if language not in (None, "en"):
            raise BackendError(f"local model '{loaded.model.name}' understands only English but language is '{language}' "
                               "(set transcription.local.model to a multilingual model such as base or small)")
        return "en"

    def _run(self, loaded: LoadedModel, samples: np.ndarray, language: str | None, context: str | None,
             offset: float = 0.0, before: str = "", whole: bool = True, prefix: str | None = None,
             prefix_tokens: int = 0, own_seconds: float | None = None,
             words: list[Segment] | None = None, margin_seconds: float | None = None,
             beam_size: int | None = None, prompt_tokens: int | None = None,
             one_window: bool = False, fit: bool = True) -> tuple[str, list[Segment], str | None]:
        """Decode segment by segment, telling the pipeline the text so far (``before`` this window
        and the window's) after each one, for a ``whole`` recording; a streamed phrase is reported
        by the core. ``context``: the text before (a phrase's, or the previous window's), as prompt;
        ``offset``: where this window starts, in seconds. ``prefix``: the decided text of the audio's
        first ``samples.size / 16000 - own_seconds`` seconds (``prefix_tokens`` tokens long), which
        the decoder is held to; the text after it is returned, as one segment. ``words``: a streamed
        phrase's list to fill with the timing of every word heard (the prefix's included), from
        Whisper's cross-attention over the encoder output the decode used (:func:`word_timings`).
        ``margin_seconds``: the silence after a prefixed phrase in the fitted window (default
        ``continuationMarginSeconds``). ``beam_size``: the beam width (default ``beamSize``);
        ``prompt_tokens``: the longest prompt, ``prefix_tokens`` included (default all Whisper reads).
        ``one_window``: ``samples`` are a whole recording of at most :data:`ONE_WINDOW_SECONDS`, with
        ``fitWindow`` decoded in a window fitted to them as a streamed phrase is (never a later window
        of a long file, nor a file over 30 s: there only its short last window would be fitted, where
        tiny.en lost or repeated words, docs/streaming.md). A fitted decode whose text says a phrase 3+
        times in a row, or one of 4+ words twice (the prefix included), is decoded again in Whisper's 30 s window
        (``fit`` False), and that text is kept: on a clip cut mid-word tiny.en can loop in the fitted window
        ("…Americans, and, and, and, …", under the runaway guard's rate) where it does not in the 30 s one,
        and held to "Please" it heard "send the report by Friday. Please send the report by Friday." for
        one sentence (docs/backends-local.md).

        Returns the text, the segments, and the language (detected when ``language`` is None)."""
        config, settings = self.config, self.ctx.settings
        whisper = loaded.whisper
        room = prompt_tokens or PROMPT_TOKENS
        self._count_beside(loaded)
        if context is None:
            prompt = transcription_prompt(settings)
        else:
            prompt = segment_prompt(settings, context,
                                    fits=lambda text: _prompt_tokens(whisper, text) + prefix_tokens <= room)
        fitted = fit and config.fit_window and (not whole or one_window)  # a streamed phrase, or a file of one window
        if fitted:
            margin = config.continuation_margin_seconds if margin_seconds is None else margin_seconds
            whisper = fitted_window(whisper, round(margin * 100) if prefix else WINDOW_MARGIN)
        encoded: list[Any] = []
        words_before = len(words) if words is not None else 0
        filtered = config.vad_filter and not prefix
        speech = _speech_map(samples) if words is not None and filtered else None
        if words is not None:
            whisper = _keeping_encoder_output(whisper, encoded)
        text, segments = "", []
        favoured = hotwords(settings, config.hotwords)
        seconds = samples.size / 16_000 if own_seconds is None else own_seconds
        try:
            decoded, info = whisper.transcribe(
                samples, language=language, beam_size=beam_size or config.beam_size, vad_filter=filtered,
                initial_prompt=prompt, hotwords=favoured, prefix=prefix, without_timestamps=bool(prefix),
                temperature=SAMPLED_FALLBACK if config.sampled_fallback else 0.0,
                max_new_tokens=max_new_tokens(seconds, _room(whisper, favoured)))
            for raw in decoded:  # a generator: each step decodes the next segment
                text += raw.text  # Whisper's own spacing (none between CJK segments)
                segments.append(Segment(raw.start + offset, raw.end + offset, raw.text.strip()))
                if whole:
                    self.ctx.partial_text(f"{before} {text.strip()}".strip())
        except (RuntimeError, ValueError) as exc:
            raise BackendError(f"local model '{loaded.model.name}' failed while decoding: {first_line(exc)} "
                               "(rerun with --debug; try transcription.local.computeType \"float32\")") from None
        if words is not None and len(encoded) == 1 and text.strip() and (speech is None or speech[1]):
            # one encoder pass heard it all (a second window would hold only the end); through the VAD
            # filter, the timings are in the speech it kept: mapped back to the phrase's time
            heard_size = samples.size if speech is None else speech[1]
            found = word_timings(whisper, encoded[0], text.strip(), heard_size, language or "en")
            words += found if speech is None else [_restored(speech[0], word) for word in found]
        if prefix:  # the output starts with the prefix it was held to: keep what follows, as one segment
            text = _after_prefix(text, prefix)
            segments = [Segment(offset, offset + seconds, text)] if text else []
        if fitted and (collapse_repeats(text.strip()) != text.strip() or says_twice(text, prefix or "")):
            self.ctx.log(f"local: the fitted window repeated a phrase on {seconds:.1f} s of audio; "
                         "heard again in the 30 s window")
            if words is not None:
                del words[words_before:]
            return self._run(loaded, samples, language, context, offset=offset, before=before, whole=whole,
                             prefix=prefix, prefix_tokens=prefix_tokens, own_seconds=own_seconds, words=words,
                             beam_size=beam_size, prompt_tokens=prompt_tokens, fit=False)
        cleaned = without_runaway(text.strip(), seconds)  # a decoder loop ("f s s s s …" on a cut word): one copy
        if cleaned != text.strip():
            self.ctx.log(f"local model repeated itself on {seconds:.1f} s of audio: "
                         f"{len(text.split())} words, {len(cleaned.split())} kept")
            text = cleaned
            segments = [Segment(segments[0].start, segments[-1].end, text)] if segments and text else []
        return text.strip(), segments, info.language


#: The re-decodes' instance (:func:`idle_model`) starts loading at a backend's this-many-th request for it: re-decodes
#: come one a second of speech, so a dictation shorter than ~4 s never loads a second copy of the model (CPU time and
#: ~40 MB for tiny.en), nor waits for that load at exit; the first three share the first instance, as while it loads
IDLE_AFTER = 4


def idle_model(key: tuple[Any, ...], load: Callable[[], LoadedModel], start: bool = True) -> LoadedModel | None:
    """The model for ``key`` loaded once more, for re-decodes, by a thread of its own at a lower CPU
    priority (:func:`_lower_priority`), so that the CTranslate2 worker thread it starts — and the OpenMP
    threads that worker starts when it first computes — inherit it and leave most of the cores to a decode
    on the first instance. (Only threads started there: a Python thread starved while holding the GIL would stall
    the whole process.) None while it loads, or when it could not be loaded; the load starts on the first call with
    ``start`` (before that: None, unless another caller loaded it already)."""
    with _loads_lock:
        future = _loads.get((*key, "idle"))
        if future is None and not start:
            return None
        if future is None:
            future = _loads[(*key, "idle")] = Future()
            # not a daemon: the interpreter waits for the load before it exits. A daemon thread still inside
            # CTranslate2's model load when a short recording's process exits aborted it ("terminate called
            # without an active exception", exit -6, after the text was delivered)
            threading.Thread(target=_load_idle, args=(future, load), name="local-idle-model", daemon=False).start()
    return future.result() if future.done() and future.exception() is None else None


#: How much lower the re-decodes' instance runs than the process (nice): at +10 a decode at the process's
#: priority gets ~90 % of a core it shares with it (CFS weights 1024 : 110), while other programs' background
#: work (nice 19, weight 15) does not slow the re-decodes down much. Lower still was worse, live (2026-12-06,
#: load 7-9 of other nice-19 work, commit at the stop): at nice 19 or SCHED_IDLE the re-decodes lagged (4-10 in
#: a passage instead of 9-24), fewer words were agreed on, and more was left at the stop
LOWER_PRIORITY = 10


def _lower_priority() -> None:
    """The calling thread (and every thread it starts) :data:`LOWER_PRIORITY` nice steps below the process
    (at most nice 19). Linux, where the nice value is per thread; elsewhere nothing changes. (A thread's
    priority cannot be raised back without privileges: this one is only the loader's.)"""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(AttributeError, OSError):
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + LOWER_PRIORITY))


def _load_idle(future: Future[LoadedModel], load: Callable[[], LoadedModel]) -> None:
    _lower_priority()
    try:
        future.set_result(load())
    except BaseException as exc:  # noqa: BLE001 - re-decodes then stay on the first instance
        future.set_exception(exc)


#: Temperatures of Whisper's fallback (faster-whisper's default), tried in turn while a decode fails its
#: thresholds; only with ``sampledFallback``. CTranslate2's sampler is seeded once per worker thread and
#: cannot be reset, so a sampled text depends on every decode made before it in the process: by
#: default a decode is one beam search at temperature 0, the same text for the same audio every time
#: (a decoder loop it may fall into is bounded and removed by :mod:`.runaway`)
SAMPLED_FALLBACK = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)

#: Whisper gets at most this many seconds at once: a longer file is transcribed window by window,
#: each cut at its quietest moment near its end, so memory stays bounded whatever the length
#: (faster-whisper's VAD and features cost ~1 MB per second of window: 120 s → ~290 MB peak in all,
#: 600 s → ~530 MB; bench/long_files.py).
WINDOW_SECONDS = 120.0
#: Where to look for the cut: the last this many seconds of a window, in frames of CUT_FRAME_SECONDS.
CUT_SEARCH_SECONDS = 20.0
CUT_FRAME_SECONDS = 0.1

#: Whisper's window: a whole recording at most this long is heard in one (and may be fitted, ``fitWindow``)
ONE_WINDOW_SECONDS = 30.0
#: Tokens of prompt Whisper reads (faster-whisper keeps the last ``max_length // 2 - 1`` = 223)
PROMPT_TOKENS = 223
#: Silence (mel frames, 10 ms each) kept after the audio in a fitted window: with 1-3 s, tiny.en
#: repeated itself on short phrases (measured on jfk.flac); 6-10 s kept the text of the 30 s window
WINDOW_MARGIN = 1000


def _keeping_encoder_output(whisper: Any, encoded: list[Any]) -> Any:
    """A view of ``whisper`` that appends each encoder output to ``encoded`` (for :func:`word_timings`)."""
    import copy

    view = copy.copy(whisper)
    encode = whisper.encode

    def keeping_encode(features: Any) -> Any:
        output = encode(features)
        encoded.append(output)
        return output

    view.encode = keeping_encode
    return view


def word_timings(whisper: Any, encoder_output: Any, text: str, samples: int, language: str) -> list[Segment]:
    """When each word of ``text`` was said in the audio whose encoder output is ``encoder_output``
    (``samples`` long): Whisper's forced alignment (cross-attention + dynamic time warping, what
    faster-whisper's ``word_timestamps`` use), one decoder pass over the text. A word is what
    ``text.split()`` gives ("20%", "ill-disposed,"), so the words joined with spaces are ``text``;
    none when the alignment's words do not add up to them."""
    from faster_whisper.tokenizer import Tokenizer
    from faster_whisper.transcribe import merge_punctuations

    tokenizer = Tokenizer(whisper.hf_tokenizer, whisper.model.is_multilingual, task="transcribe", language=language)
    tokens = tokenizer.encode(" " + text)
    frames = max(1, samples // 160)
    found = whisper.find_alignment(tokenizer, [tokens], encoder_output, frames)[0] if tokens else []
    merge_punctuations(found, "\"'“¿([{-", "\"'.。,，!！?？:：”)]}、")
    pieces = [Segment(float(word["start"]), float(word["end"]), "".join(word["word"].split())) for word in found]
    return _tiled([piece for piece in pieces if piece.text], text)


def _speech_map(samples: np.ndarray) -> tuple[Any, int]:
    """Where faster-whisper's VAD filter (its default options, as ``transcribe`` uses them) keeps speech
    in ``samples``: a map from the kept audio's time back to the phrase's, and how many samples it keeps."""
    from faster_whisper.vad import SpeechTimestampsMap, VadOptions, get_speech_timestamps

    chunks = get_speech_timestamps(samples, VadOptions())
    return SpeechTimestampsMap(chunks, 16_000), sum(chunk["end"] - chunk["start"] for chunk in chunks)


def _restored(speech: Any, word: Segment) -> Segment:
    """``word``'s timing in the kept speech, back in the phrase's time (both ends in the chunk of its middle)."""
    chunk = speech.get_chunk_index((word.start + word.end) / 2)
    return Segment(speech.get_original_time(word.start, chunk), speech.get_original_time(word.end, chunk), word.text)


def _tiled(pieces: list[Segment], text: str) -> list[Segment]:
    """``pieces`` (Whisper's words: "20" "%", "ill" "-disposed") grouped into the words of ``text``."""
    words, used = [], 0
    for token in text.split():
        first, joined = used, ""
        while used < len(pieces) and len(joined) < len(token):
            joined += pieces[used].text
            used += 1
        if joined != token:
            return []
        words.append(Segment(pieces[first].start, pieces[used - 1].end, token))
    return words if used == len(pieces) else []


def _after_prefix_words(words: list[Segment], prefix: str) -> list[Segment]:
    """The words after those of ``prefix`` (the text a decode was held to starts with it)."""
    wanted = prefix.split()
    return words[len(wanted):] if [word.text for word in words[:len(wanted)]] == wanted else []


def _own_words(words: tuple[Segment, ...], text: str) -> tuple[Segment, ...]:
    """``words`` when they spell ``text`` (the phrase's decided text), else none: a timing that does
    not match the text (a decode cleaned of a loop, the phrase heard alone instead) is not used."""
    return words if words and " ".join(word.text for word in words).split() == text.split() else ()


def _after_prefix(text: str, prefix: str) -> str:
    """``text`` without the ``prefix`` faster-whisper's output starts with (the decoder was held to it)."""
    text = text.strip()
    return text[len(prefix):].strip() if text.startswith(prefix) else text


def _room(whisper: Any, favoured: str | None) -> int:
    """Tokens a decode may produce beside the longest prompt faster-whisper builds: the previous
    text (at most :data:`PROMPT_TOKENS`), the hotwords and the start-of-transcript tokens."""
    favoured_tokens = min(_prompt_tokens(whisper, favoured), PROMPT_TOKENS) if favoured else 0
    return whisper.max_length - 1 - PROMPT_TOKENS - favoured_tokens - 6


def _prompt_tokens(whisper: Any, text: str) -> int:
    return len(whisper.hf_tokenizer.encode(" " + text.strip(), add_special_tokens=False).ids)


def fitted_window(whisper: Any, margin: int = WINDOW_MARGIN) -> Any:
    """A view of ``whisper`` whose encoder sees the audio plus ``margin`` frames, not 30 s.

    faster-whisper pads every window's mel features with zeros to 3,000 frames (30 s) before the
    encoder, so a 2 s phrase costs nearly what 20 s do. CTranslate2's Whisper encoder takes shorter
    inputs: the padding (all-zero columns: a real mel frame is never exactly zero) is cut back to
    ``margin`` frames. Everything else (prompting, the decode's thresholds, timestamps) is
    faster-whisper's own. The model itself is shared, not copied.
    """
    import copy

    import numpy as np

    view = copy.copy(whisper)
    encode = whisper.encode

    def fitted_encode(features: np.ndarray) -> Any:
        batch = features if features.ndim == 3 else features[np.newaxis]
        used = np.flatnonzero(np.any(batch != 0, axis=(0, 1)))
        frames = int(used[-1]) + 1 + margin if used.size else margin
        frames = min(batch.shape[-1], frames + frames % 2)  # the encoder's convolution halves it
        return encode(np.ascontiguousarray(batch[..., :frames]))

    view.encode = fitted_encode
    return view


def windows(audio: Audio, window_seconds: float | None = None) -> Iterator[tuple[float, np.ndarray]]:
    """``(start in seconds, 16 kHz mono float32)`` windows of ``audio``, decoded as a stream (libsndfile,
    else PyAV for m4a, webm …); at least one, maybe empty. Raises AudioError when it cannot be decoded."""
    import numpy as np

    limit = int((window_seconds or WINDOW_SECONDS) * 16_000)
    pending: list[np.ndarray] = []
    size, start = 0, 0
    for block in audio.blocks(16_000):
        pending.append(block)
        size += block.size
        while size >= limit:
            joined = np.concatenate(pending)
            cut = quietest_cut(joined[:limit])
            yield start / 16_000, joined[:cut]
            start += cut
            pending, size = [joined[cut:]], joined.size - cut
    yield start / 16_000, np.concatenate(pending) if pending else np.zeros(0, dtype=np.float32)


def quietest_cut(samples: np.ndarray) -> int:
    """Where to end a window: the middle of the quietest short frame among its last seconds (a pause, not a word)."""
    import numpy as np

    frame = int(CUT_FRAME_SECONDS * 16_000)
    search = min(samples.size, int(CUT_SEARCH_SECONDS * 16_000)) // frame * frame
    if search < frame:
        return samples.size
    tail = samples[samples.size - search:].reshape(-1, frame)
    quietest = int(np.argmin(np.square(tail, dtype=np.float32).mean(axis=1)))
    return samples.size - search + quietest * frame + frame // 2


def cpu_cores() -> int:
    """Cores this process may run on (honours taskset and cgroup CPU sets)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _load_vad() -> None:
    """faster-whisper's Silero VAD session (cached by faster-whisper), created now rather than at the first
    decode: while a head start's model loads in its thread, this thread has nothing else to do. A failure
    is left to the decode, which reports it as always."""
    try:
        from faster_whisper.vad import get_vad_model

        get_vad_model()
    except Exception:  # noqa: BLE001 - see above
        pass


def _load_fix(exc: BaseException, model: ResolvedModel) -> str:
    message = str(exc).lower()
    if "compute type" in message:
        return 'set transcription.local.computeType to "auto"'
    if "cuda" in message or "device" in message:
        return 'set transcription.local.device to "cpu"'
    if model.origin == "directory":
        return "the files are damaged or not CTranslate2 Whisper weights; point transcription.local.model to a good directory"
    return f"the files are damaged; fetch them again with `voice-transcriber models pull {model.name} --force`"


@hookimpl
def vt_register_backends(register) -> None:
    register(LocalBackend)


@hookimpl
def vt_register_commands(cli) -> None:
    from .local_cli import models_group  # click: only for the command line, not for a dictation

    cli.add_command(models_group)
