"""The local backend's head start: the model the last identical ``transcribe`` loaded, loading
before the configuration is read (``voice_transcriber.head_start`` in the core).

:func:`start` is called by the executable with what
:func:`~voice_transcriber_backends.local_loading.load_model` remembered (:func:`payload`). It
imports faster-whisper where it is called (while an import runs, a thread could not run Python
anyway) and creates the model in a thread: CTranslate2 reads and converts the weights without
holding the GIL, beside the plugins, the pydantic schemas and the configuration of the main
thread. The backend, once configured, takes that model with :func:`take` when it needs the same
directory, device, compute type and threads, or loads its own as always.

Standard library only until faster-whisper: no pydantic, no core module.
"""

from __future__ import annotations

import os
import sys
import threading
import types
from concurrent.futures import Future
from typing import Any

#: A model's identity for a head start: (directory, device, compute type, CPU threads).
Key = tuple[str, str, str, int]

_started: dict[Key, Future[Any]] = {}
_lock = threading.Lock()
_import_lock = threading.Lock()


def quiet_openmp() -> None:
    """CTranslate2's OpenMP workers spin while they wait for work. Beside a running recording (the
    recorder loop, PortAudio, the VAD) spinning threads starve each other: a streamed phrase took
    3-5x longer on 2 cores, and batch transcription is no faster with spinning. Read once, when
    ctranslate2 loads: called before anything imports it."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def whisper_model_class() -> Any:
    """``faster_whisper.WhisperModel``, imported with OpenMP waiting passively and PyAV deferred."""
    return import_faster_whisper().WhisperModel


def import_faster_whisper() -> types.ModuleType:
    """``faster_whisper``, imported with OpenMP waiting passively and PyAV deferred: every import of it
    in this plugin goes through here (the model, ``doctor``'s check, a download)."""
    quiet_openmp()
    _defer("av")
    import faster_whisper

    return faster_whisper


class _Deferred(types.ModuleType):
    """Stands in ``sys.modules`` for a module until one of its attributes is read, then imports it."""

    def __getattr__(self, name: str) -> Any:
        with _import_lock:
            if sys.modules.get(self.__name__) is self:
                del sys.modules[self.__name__]
            import importlib

            module = importlib.import_module(self.__name__)
        return getattr(module, name)


def _defer(name: str) -> None:
    """faster-whisper imports PyAV (FFmpeg, ~50 ms) as it loads, for its own file decoder, which the
    local backend never calls: the core reads audio with libsndfile, and with PyAV only the formats
    libsndfile cannot read (it then imports PyAV through this stand-in). ``importlib.util.LazyLoader``
    would not do: on Python 3.11 the ``import`` statement itself reads an attribute of the module."""
    if name in sys.modules:
        return
    from importlib.util import find_spec

    spec = find_spec(name)
    if spec is None:
        return  # not installed: faster-whisper's own import error says so
    stand_in = _Deferred(name)
    stand_in.__spec__ = spec
    sys.modules.setdefault(name, stand_in)


def payload(path: str, device: str, compute_type: str, threads: int) -> dict[str, Any]:
    """What the backend remembers (``RunContext.remember_head_start``) for the next identical run."""
    return {"path": path, "device": device, "computeType": compute_type, "threads": threads}


def start(remembered: Any) -> None:
    """Import faster-whisper and start loading the remembered model in a thread; nothing when the
    payload is not one :func:`payload` writes or faster-whisper is missing."""
    if not isinstance(remembered, dict):
        return
    key = (remembered.get("path"), remembered.get("device"), remembered.get("computeType"), remembered.get("threads"))
    if not (all(isinstance(part, str) for part in key[:3]) and isinstance(key[3], int) and not isinstance(key[3], bool)):
        return
    try:
        whisper_model = whisper_model_class()
    except ImportError:
        return
    future: Future[Any] = Future()
    with _lock:
        _started[key] = future  # type: ignore[index]
    # Not a daemon thread: a process that ends during the load (a bad file) waits for it, rather than
    # having native code cut off at exit.
    threading.Thread(target=_load, args=(whisper_model, key, future), name="local model head start").start()


def _load(whisper_model: Any, key: Key, future: Future[Any]) -> None:
    path, device, compute_type, threads = key
    try:
        future.set_result(whisper_model(path, device=device, compute_type=compute_type, cpu_threads=threads,
                                        local_files_only=True))
    except BaseException as exc:  # noqa: BLE001 - handed to take(), which lets the backend load and report it
        future.set_exception(exc)


def take(path: str, device: str, compute_type: str, threads: int) -> Any | None:
    """The model a head start loaded for exactly these settings (waiting for it), or None: none was
    started, it was another model (dropped), or its load failed (the backend's own load reports why)."""
    with _lock:
        future = _started.pop((path, device, compute_type, threads), None)
        _started.clear()  # another model's head start: not needed in this process
    if future is None:
        return None
    try:
        return future.result()
    except Exception:  # noqa: BLE001 - see above
        return None
