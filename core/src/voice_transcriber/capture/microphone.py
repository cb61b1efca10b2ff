"""The microphone: a PortAudio input stream (sounddevice) that keeps every block it delivers.

This module is imported before the CLI and the plugins (see ``capture.early``), so it
imports nothing from voice_transcriber but the error classes.
"""

from __future__ import annotations

import sys
import time
from collections import deque

from ..errors import CaptureError, ConfigError

TYPE_CHECKING = False  # imported before the microphone opens: no `typing`
if TYPE_CHECKING:
    from typing import Any

WANTED_RATE = 16_000
NO_PORTAUDIO = ("the PortAudio library is missing (Debian/Ubuntu: sudo apt install libportaudio2; "
                "Fedora: sudo dnf install portaudio; Arch: sudo pacman -S portaudio)")


def sounddevice() -> Any:
    """Import sounddevice; a missing libportaudio2 becomes one line with the fix."""
    try:
        import sounddevice
    except OSError:  # sounddevice raises OSError when libportaudio cannot be loaded
        raise CaptureError(NO_PORTAUDIO) from None
    return sounddevice


def input_devices() -> list[dict[str, Any]]:
    """Every device with input channels: index, name, host API, default rate, default or not."""
    sd = sounddevice()
    try:
        devices = sd.query_devices()
        default = sd.default.device[0]
        hostapis = [api["name"] for api in sd.query_hostapis()]
    except sd.PortAudioError as exc:
        raise CaptureError(f"cannot list audio devices: {exc} (is PulseAudio/PipeWire running?)") from None
    return [
        {"index": d["index"], "name": d["name"], "hostapi": hostapis[d["hostapi"]],
         "default_samplerate": int(d["default_samplerate"]), "max_input_channels": d["max_input_channels"],
         "default": d["index"] == default}
        for d in devices if d["max_input_channels"] > 0
    ]


#: Microphones of this process whose stream is open (PortAudio's device list is only refreshed when none is).
_open_streams = 0


def _refresh_device_list() -> bool:
    """List the devices again, as PortAudio knows them only from when it was initialised: a long-running process
    (the daemon) started before PulseAudio/PipeWire or before a USB microphone was plugged in would never see them.
    Only when no stream of this process is open, since PortAudio closes every stream when it terminates."""
    if _open_streams:
        return False
    sd = sounddevice()
    try:
        sd._terminate()
        sd._initialize()
    except (AttributeError, sd.PortAudioError):  # a sounddevice without these private helpers, or no PortAudio
        return False
    return True


def resolve_device(spec: str | int | None) -> dict[str, Any]:
    """The input device for ``spec``: None (system default), an index, or part of a name.

    When ``spec`` matches nothing, the device list is read again once (see :func:`_refresh_device_list`)."""
    try:
        return _resolve_device(spec)
    except (CaptureError, ConfigError):
        if not _refresh_device_list():
            raise
    return _resolve_device(spec)


def _resolve_device(spec: str | int | None) -> dict[str, Any]:
    sd = sounddevice()
    if isinstance(spec, str) and spec.strip().isdigit():
        spec = int(spec)
    try:
        if spec is None or spec == "":
            return sd.query_devices(kind="input")
        if isinstance(spec, int) and not 0 <= spec < len(sd.query_devices()):
            raise ValueError(f"there is no device number {spec}")
        info = sd.query_devices(spec)
    except sd.PortAudioError:
        raise CaptureError("no microphone found (connect one, check that PulseAudio/PipeWire runs, "
                           "and see `voice-transcriber devices`)") from None
    except ValueError as exc:  # no or several devices match the name, or a bad index
        raise ConfigError(f"input device '{spec}': {str(exc).splitlines()[0]} "
                          "(pick one from `voice-transcriber devices` with --device or input.device)") from None
    if info["max_input_channels"] < 1:
        raise ConfigError(f"input device '{info['name']}' has no input channels "
                          "(pick a microphone from `voice-transcriber devices`)")
    return info


class Microphone:
    """An open, running input stream. Blocks (int16 bytes) are queued by the PortAudio thread.

    Opens at 16 kHz mono when the device allows it, else at the device's own rate
    (the recorder resamples). ``first_frame_at`` is the wall-clock time of the first block.
    A raw stream: numpy (20 MB) is not needed until the recording is over.
    """

    def __init__(self, spec: str | int | None = None, *, until_first_frame: float | None = None) -> None:
        self.spec = spec
        self.info = resolve_device(spec)
        self.blocks: deque[bytes] = deque()  # appended by PortAudio's thread, popped by the recorder
        self.first_frame_at: float | None = None
        #: The interpreter's thread switch interval to restore at the first block (see ``capture.early``).
        self.until_first_frame = until_first_frame
        self.overflows = 0
        self.stream = self._open()
        global _open_streams
        _open_streams += 1
        self._counted = True
        self.rate = int(self.stream.samplerate)
        self.latency = float(self.stream.latency)

    @property
    def name(self) -> str:
        return str(self.info["name"])

    def _open(self) -> Any:
        sd = sounddevice()
        native = int(self.info["default_samplerate"])
        for rate in dict.fromkeys((WANTED_RATE, native)):
            try:
                stream = sd.RawInputStream(device=self.info["index"], samplerate=rate, channels=1,
                                           dtype="int16", callback=self._callback)
                stream.start()
                return stream
            except sd.PortAudioError as exc:
                problem = exc
        raise CaptureError(f"cannot open microphone '{self.name}': {str(problem).splitlines()[0]} "
                           "(is it in use by another program or unplugged? pick another with --device; "
                           "see `voice-transcriber devices`)")

    def _callback(self, indata: Any, frames: int, time_info: Any, status: Any) -> None:
        if self.first_frame_at is None:
            self.first_frame_at = time.time()
            if self.until_first_frame is not None:  # see capture.early: the imports may hold the GIL again
                sys.setswitchinterval(self.until_first_frame)
                self.until_first_frame = None
        if status.input_overflow:
            self.overflows += 1
        self.blocks.append(bytes(indata))

    def drain(self) -> list[bytes]:
        """Every block delivered since the last call."""
        out = []
        while self.blocks:
            out.append(self.blocks.popleft())
        return out

    def close(self) -> None:
        """Stop the stream (PortAudio delivers what it still holds before this returns)."""
        try:
            self.stream.stop()
            self.stream.close()
        except Exception:  # closing a stream whose device vanished must not lose the recording
            pass
        global _open_streams
        if self._counted:
            self._counted = False
            _open_streams -= 1
        if self.until_first_frame is not None:  # no block ever came: the interval is restored all the same
            sys.setswitchinterval(self.until_first_frame)
            self.until_first_frame = None
