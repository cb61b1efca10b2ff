"""The local backend's config section, ``transcription.local`` (read by the backend and by ``models``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from voice_transcriber import ConfigModel

from . import local_models

SECTION = "transcription.local"
ComputeType = Literal["auto", "default", "int8", "int8_float32", "int8_float16", "int8_bfloat16",
                      "int16", "float16", "bfloat16", "float32"]


class LocalConfig(ConfigModel):
    model: str = Field("auto", description='Whisper model: "auto" (best model on this machine, else the bundled tiny.en, '
                       'else downloads base), a size (tiny.en, base, small, large-v3, turbo …), a Hugging Face repo id, '
                       "or a directory with CTranslate2 weights.")
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description='Where to run: "cpu", "cuda", or "auto" (CUDA when a GPU is visible).')
    compute_type: ComputeType = Field("auto", description='CTranslate2 quantization: "auto" is int8 on CPU and float16 on CUDA; also int8_float16, float32 …')
    cpu_threads: int = Field(0, ge=0, description="CPU threads for decoding; 0 uses every core this process may run on.")
    beam_size: int = Field(5, ge=1, le=20, description="Beam search width; 1 is greedy decoding (a little faster, a little less accurate).")
    vad_filter: bool = Field(True, description="Skip silence with the Silero voice-activity detector (faster, and no words invented in silence).")
    hotwords: str | list[str] | None = Field(None, description='Words to favour (names, jargon): "Kubernetes, PyTorch" or a list.')
    cache_dir: str | None = Field(None, description="Where downloaded models go; null is $XDG_CACHE_HOME/voice-transcriber/models.")
    allow_download: bool = Field(True, description="Download a missing model on first use; false never touches the network.")
    continuation_margin_seconds: float = Field(3.0, ge=1.0, le=20.0, description="Seconds of silence after a streamed phrase heard "
                                               "after the phrase before it (input.streamingOverlap) in the fitted window; 3 (the default) "
                                               "decodes the phrase left after the stop faster than 10, as accurately on the benchmark "
                                               "passages with input.streamingOverlapSeconds 4 (docs/streaming.md).")
    stop_margin_seconds: float | None = Field(6.0, ge=1.0, le=20.0, description="Seconds of silence after the rest of the phrase "
                                              "a stop ends, after its agreed words (input.streamingCommitAtStop), in its fitted "
                                              "window: the decode you wait for after the stop (6: the same text as 10 on every "
                                              "benchmark passage, for less work). null: continuationMarginSeconds (docs/streaming.md).")
    phrase_beam_size: int | None = Field(8, ge=1, le=20, description="Beam width for what is transcribed while you speak "
                                         "(streaming: each phrase, re-decodes of the one being spoken; a hands-free session's "
                                         "utterances): hidden behind your speech, a wider beam costs no wait. 8 (the default): "
                                         "streamed text at least as accurate as a whole recording's at beamSize 5 on the "
                                         "benchmark passages. The rest a stop leaves gets stopBeamSize. null: beamSize (docs/streaming.md).")
    stop_beam_size: int | None = Field(None, ge=1, le=20, description="Beam width for the rest of the phrase a stop ends, after "
                                       "its agreed words (input.streamingCommitAtStop): the decode you wait for after the stop "
                                       "(e.g. 1: greedy, a shorter wait). null: beamSize (docs/streaming.md).")
    stop_prompt_tokens: int | None = Field(None, ge=16, le=223, description="Tokens of prompt (your prompt, vocabulary and the "
                                           "text decided before) for the rest of the phrase a stop ends (input.streamingCommitAtStop), "
                                           "the agreed words it is held to included: a shorter prompt costs less to decode. "
                                           "null: all Whisper reads, 223 (docs/streaming.md).")
    sampled_fallback: bool = Field(False, description="Whisper's temperature fallback: a decode that looks wrong (average log "
                                   "probability below -1 or compression ratio above 2.4) is decoded again by random sampling at "
                                   "temperatures 0.2 to 1.0. Off: one deterministic decode, so the same audio always gives the same "
                                   "text and `retry` gives what was delivered; on: the text of such audio can differ from run to run "
                                   "(docs/backends-local.md).")
    fit_window: bool = Field(True, description="Streamed phrases, and whole recordings of at most 30 s (a file, a recording made "
                             "without streaming, their retry), are decoded in a window fitted to their length (plus 10 s of "
                             "silence) instead of Whisper's 30 s one: short audio costs less to decode. A longer file always gets "
                             "the 30 s windows (see docs/streaming.md).")
    background_redecodes: bool = Field(True, description="While recording, re-decodes of the phrase being spoken (live text, "
                                       "agreements) run on a second instance of the model at a lower CPU priority, beside the phrases' "
                                       "decodes: one still running when you pause no longer delays the phrase's decode (one more copy "
                                       "of the model in memory). false: one instance, one decode at a time (docs/streaming.md).")

    def models_dir(self) -> Path:
        return Path(self.cache_dir).expanduser() if self.cache_dir else local_models.default_cache_dir()
