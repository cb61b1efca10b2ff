"""Loading the local backend's faster-whisper model: once per process and configuration (:func:`shared_model`),
a second instance for re-decodes at a lower CPU priority (:func:`idle_model`), and the device, compute type and
threads ``auto`` stands for on this machine (:func:`runtime`).

faster-whisper and CTranslate2 are imported inside the functions: this module loads with the plugin.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from concurrent.futures import Future
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from voice_transcriber import BackendError

from . import local_head_start, local_models
from .local_models import ResolvedModel, first_line

if TYPE_CHECKING:
    from voice_transcriber import RunContext

    from .local_config import LocalConfig

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


def load_model(config: LocalConfig, ctx: RunContext, fresh: bool = False) -> LoadedModel:
    """The model ``config`` names, loaded (or taken from a head start). ``fresh``: a second instance, for
    re-decodes (``LocalBackend.background_redecodes``), built in the calling thread."""
    try:
        WhisperModel = local_head_start.whisper_model_class()  # noqa: N806
    except ImportError:
        raise BackendError(f"the local backend needs faster-whisper, which is missing: {INSTALL_FIX}") from None
    model = local_models.resolve(config.model, ctx.settings.language, config.models_dir(),
                                 allow_download=config.allow_download, progress=not ctx.quiet)
    local_models.check_directory(model.path)
    device, compute_type, threads = runtime(config)
    if config.vad_filter:
        load_vad()  # here too: before the model, while a head start's load runs in its thread
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
        ctx.info["local model head start"] = "used"
    ctx.log(f"local model {model.name} ({model.origin}) at {model.path} on {device}/{compute_type}, {threads} threads"
            + (", for re-decodes at a lower priority" if fresh else ""))
    if not fresh:
        ctx.remember_head_start("local", local_head_start.payload(str(model.path), device, compute_type, threads))
    return LoadedModel(whisper, model, device, compute_type, threads, idle=fresh)


def runtime(config: LocalConfig) -> tuple[str, str, int]:
    """(device, compute type, CPU threads) that ``auto`` and 0 stand for on this machine."""
    device = config.device
    if device == "auto":
        import ctranslate2

        device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    compute_type = config.compute_type
    if compute_type == "auto":
        compute_type = "int8" if device == "cpu" else "float16"
    return device, compute_type, config.cpu_threads or cpu_cores()


def cpu_cores() -> int:
    """Cores this process may run on (honours taskset and cgroup CPU sets)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def load_vad() -> None:
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
