"""The ``local`` backend: offline transcription with faster-whisper (CTranslate2) on this machine.

The default backend. The model loads in the background while the user speaks
(:meth:`LocalBackend.prepare`), once per process and configuration (:mod:`.local_loading`); segments reach the
pipeline through ``ctx.partial_text`` as they are decoded. Models are found by
:mod:`voice_transcriber_backends.local_models`; ``voice-transcriber models`` manages them.
While recording, the core hands it each finished phrase (``transcribe_segment``) in one worker
thread, prompted with the text decided before it, in an encoder window fitted to the phrase (a
whole recording that fits in one Whisper window, at most 30 s, is fitted too). A window's decode:
:mod:`.local_decode`, with :mod:`.whisper_window` and :mod:`.whisper_words`. The model's languages and
``doctor``'s checks: :mod:`.local_checks`.
"""

from __future__ import annotations

import functools
import itertools
import threading
from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

from voice_transcriber import Audio, Backend, BackendError, Check, ConfigError, Segment, Transcript, hookimpl

from . import local_models
from .local_checks import doctor_checks, model_languages
from .local_head_start import quiet_openmp
from .local_config import SECTION, LocalConfig
from .local_decode import Decode, Decoded, decode
from .local_loading import IDLE_AFTER, LoadedModel, idle_model, load_model, load_vad, runtime, shared_model
from .whisper_window import ONE_WINDOW_SECONDS, PROMPT_TOKENS, prompt_token_count, windows
from .whisper_words import words_after_prefix, words_spelling

if TYPE_CHECKING:
    import numpy as np

quiet_openmp()  # set as this plugin is loaded, before anything imports ctranslate2


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
            idle = idle_model(key, functools.partial(load_model, config, self.ctx, fresh=True), start=start)
        loaded = idle or shared_model(key, functools.partial(load_model, config, self.ctx))
        if config.vad_filter:
            load_vad()  # cached by faster-whisper: a no-op after the first
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
        instance of the model whose threads run at a lower CPU priority (:func:`~.local_loading.idle_model`; one more copy
        of the model in memory: ~40 MB for tiny.en)."""
        return self.config.background_redecodes and runtime(self.config)[0] == "cpu"

    def languages(self) -> dict[str, str]:
        """From the model's name (``*.en`` are English-only); a model not on disk yet: the one ``auto`` would fetch."""
        return model_languages(self.config, self.ctx.settings.language)

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
        prefix = " ".join(before_text.split())
        prefix_tokens = prompt_token_count(loaded.whisper, prefix)
        beam = self._stop_beam() if stop_rest else self._phrase_beam()
        alone_context = " ".join(part for part in (context, before_text) if part)  # for this phrase heard alone
        if prefix_tokens > PROMPT_TOKENS // 2:  # a long phrase said fast: hear this one alone
            return self._transcribe(audio, alone_context, beam)
        language = self._language(loaded)
        request = self._continuation_request(context, prefix, prefix_tokens, tail.size / 16_000, beam,
                                             partial=partial, stop_rest=stop_rest)
        heard, _, language = self._decode(loaded, np.concatenate([head, tail]), language, request)
        seconds = tail.size / 16_000
        if heard[-1:].isalnum() and not partial:  # (the phrase still being spoken may well end mid-sentence)
            alone = self._longer_heard_alone(heard, audio, alone_context, beam)
            if alone is not None:
                return alone
        before_seconds = head.size / 16_000
        own = tuple(Segment(word.start - before_seconds, word.end - before_seconds, word.text)
                    for word in words_after_prefix(request.words or [], prefix))
        return self._transcript(loaded, heard, language, (Segment(0.0, seconds, heard),) if heard else (), seconds, own)

    def _continuation_request(self, context: str, prefix: str, prefix_tokens: int, own_seconds: float, beam: int, *,
                              partial: bool, stop_rest: bool) -> Decode:
        """The decode of a phrase heard after the one before, held to its text ``prefix``
        (:meth:`transcribe_continuation`)."""
        # the rest a stop leaves is the recording's last words: no phrase follows to hear their end again
        words: list[Segment] | None = [] if self._timing_words(partial) and not stop_rest else None
        margin = self.config.stop_margin_seconds if stop_rest and self._stop_margin_apart else None
        room = self.config.stop_prompt_tokens if stop_rest else None
        return Decode(context, whole=False, prefix=prefix, prefix_tokens=prefix_tokens, own_seconds=own_seconds,
                      words=words, margin_seconds=margin, beam_size=beam, prompt_tokens=room)

    def _longer_heard_alone(self, heard: str, audio: Audio, alone_context: str, beam: int) -> Transcript | None:
        """The phrase heard alone, when it says more than ``heard``, the phrase heard after the one before:
        held to a text, tiny.en sometimes stops early, mid-sentence and without punctuation ("… ask what you can
        do for" without "your country", which repeats words of the prefix); a phrase it heard to its end ends
        with a full stop or a comma."""
        with self.ctx.stage("local: phrase heard alone as well"):  # (the wait after stop's breakdown)
            alone = self._transcribe(audio, alone_context, beam)
        if len(alone.text.split()) > len(heard.split()):
            self.ctx.log(f"local: the phrase heard after the one before ended early ({heard!r}); heard alone instead")
            return alone
        return None

    def _transcribe(self, audio: Audio, context: str | None, beam_size: int | None = None) -> Transcript:
        """The audio window by window (one window unless it is longer than :data:`~.whisper_window.WINDOW_SECONDS`),
        decoded as a stream: a two-hour file is never in memory whole. ``beam_size``: default ``beamSize``."""
        # Decoding first, not beside a background load: in an A/B run on 2 cores the overlap cost
        # more CPU and wall time than it saved. Unreadable audio fails before any load.
        parts = windows(audio)
        offset, samples = next(parts)
        # a whole recording Whisper hears in one window (at most 30 s, no window after it) may be fitted
        # (:func:`~.local_decode.decode`); with the 120 s windows a short first window always is the last, so nothing
        # is read ahead
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
                request = Decode(prompt_context, offset=offset, before=text, whole=context is None,
                                 words=words if not offset else None, one_window=one_window, beam_size=beam_size)
                heard, found, language = self._decode(loaded, samples, language, request)
                text = f"{text} {heard}".strip() if heard else text
                segments += found
            offset, samples = next(parts, (seconds, None))
        return self._transcript(loaded, text, language, tuple(segments), seconds, tuple(words or ()))

    def _transcript(self, loaded: LoadedModel, text: str, language: str | None, segments: tuple[Segment, ...],
                    seconds: float, words: tuple[Segment, ...]) -> Transcript:
        return Transcript(text=text, backend=self.name, language=language, model=loaded.model.name,
                          segments=segments, audio_duration=seconds,
                          extra={"model_path": str(loaded.model.path), "device": loaded.device},
                          words=words_spelling(words, text))

    def _timing_words(self, partial: bool = True) -> bool:
        """The streaming core commits words of the phrase being spoken (``input.streamingCommit``) or hears
        only the end of the phrase before again (``input.streamingOverlapSeconds``): give each streamed
        phrase's words with their timings. With ``input.streamingCommitAtStop`` only the re-decodes of the
        phrase being spoken (``partial``; a first phrase's cannot be told apart) need them."""
        settings = self.ctx.settings.input
        return bool(settings.streaming_commit or (settings.streaming_commit_at_stop and partial)
                    or (settings.streaming_overlap and settings.streaming_overlap_seconds))

    def checks(self) -> Iterable[Check]:
        return doctor_checks(self.config, self.ctx.settings.language)

    def _language(self, loaded: LoadedModel) -> str | None:
        language = self.ctx.settings.language
        if loaded.whisper.model.is_multilingual:
            return language
        if language not in (None, "en"):
            raise BackendError(f"local model '{loaded.model.name}' understands only English but language is '{language}' "
                               "(set transcription.local.model to a multilingual model such as base or small)")
        return "en"

    def _decode(self, loaded: LoadedModel, samples: np.ndarray, language: str | None, request: Decode) -> Decoded:
        """One window decoded (:func:`~.local_decode.decode`), counted for ``--debug`` (:meth:`_count_beside`); decoded
        again in Whisper's 30 s window when the fitted one repeated a phrase."""
        self._count_beside(loaded)
        decoded = decode(self.config, self.ctx, loaded, samples, language, request)
        if decoded is None:
            return self._decode(loaded, samples, language, replace(request, fit=False))
        return decoded


@hookimpl
def vt_register_backends(register) -> None:
    register(LocalBackend)


@hookimpl
def vt_register_commands(cli) -> None:
    from .local_cli import models_group  # click: only for the command line, not for a dictation

    cli.add_command(models_group)