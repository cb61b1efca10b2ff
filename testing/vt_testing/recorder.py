"""A ``voice-transcriber`` recording in a subprocess, and how far its recording got, for recording tests.

:class:`RecordingProcess` runs the real executable; :func:`recorder_env` and :func:`private_world` give it the
virtual mic of a :class:`vt_testing.pulse.PulseServer` and dirs of its own. :func:`heard_until_now` and
:func:`wait_until_recorded_into` wait, by the WAV it writes, until it holds what was played into the mic.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path

from vt_testing.pulse import PulseServer


def recorder_env(pulse: PulseServer, model: Path, runtime: Path) -> dict[str, str]:
    """What a recording ``voice-transcriber`` process needs besides the test's isolated XDG dirs: the
    virtual mic, the local backend on ``model`` decoding greedily (beam 1), ``runtime`` (made, 0700)
    as its runtime dir. The test's cache gets the plugin index a user's has (:func:`vt_testing.core.seed_plugin_index`)."""
    from vt_testing.core import seed_plugin_index

    runtime.mkdir(mode=0o700, exist_ok=True)
    seed_plugin_index()
    return {**pulse.env, "XDG_RUNTIME_DIR": str(runtime),
            "VOICE_TRANSCRIBER_TRANSCRIPTION__LOCAL__MODEL": str(model),
            "VOICE_TRANSCRIBER_TRANSCRIPTION__LOCAL__BEAM_SIZE": "1"}


def private_world(root: Path, pulse: PulseServer, model: Path) -> dict[str, str]:
    """The environment of a recorder in a world of its own under ``root`` (laid out as ``isolated_dirs``'s:
    ``root/xdg_state_home`` …; the runtime dir ``root/runtime``): for a recorder of a module fixture, which
    outlives the test that made it and shares the microphone with other recorders."""
    from vt_testing.core import seed_plugin_index

    env = {var: str(root / var.lower()) for var in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME",
                                                     "XDG_DATA_HOME")}
    for path in env.values():
        Path(path).mkdir(parents=True)
    seed_plugin_index(env["XDG_CACHE_HOME"])
    return {**env, **recorder_env(pulse, model, root / "runtime")}


def recordings_of(root: Path) -> Path:
    """Where a recorder keeps its recordings when its XDG dirs are laid out under ``root`` as ``isolated_dirs``'s
    (``isolated_dirs`` itself, or the root of a :func:`private_world`)."""
    return root / "xdg_state_home" / "voice-transcriber" / "recordings"


class RecordingProcess:
    """``voice-transcriber ARGS`` recording in a subprocess (the real executable and early start)."""

    def __init__(self, *args: str, env: dict[str, str], stdin: int | None = subprocess.DEVNULL,
                 stderr: int | None = subprocess.PIPE, wrapper: tuple[str, ...] = ()) -> None:
        import sys

        exe = Path(sys.executable).with_name("voice-transcriber")
        #: When the recorder was started (``time.monotonic()``): it holds no audio from before.
        self.started = time.monotonic()
        self.process = subprocess.Popen([*wrapper, str(exe), *args], stdin=stdin, stdout=subprocess.PIPE,
                                        stderr=stderr, env={**os.environ, **env})

    def wait_for_file(self, folder: Path, timeout: float = 60) -> Path:
        """The WAV the recorder streams into ``folder`` (it exists once recording started). Generous: on a loaded
        2-core machine a recorder took more than 15 s to start (imports, plugins, config) now and then."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = sorted(folder.glob("*.wav")) if folder.is_dir() else []
            if found:
                return found[-1]
            if self.process.poll() is not None:
                raise AssertionError(f"recorder exited early: {self.finish()}")
            time.sleep(0.05)
        raise AssertionError(f"no recording appeared in {folder} within {timeout} s")

    def wait_for_open_wav(self, timeout: float = 60) -> Path:
        """The WAV the recorder holds open (seen through /proc, even inside another mount namespace)."""
        deadline = time.monotonic() + timeout
        fds = Path(f"/proc/{self.process.pid}/fd")
        while time.monotonic() < deadline and self.process.poll() is None:
            for fd in list(fds.iterdir()):
                try:
                    target = os.readlink(fd)
                except OSError:
                    continue
                if target.endswith(".wav"):
                    return Path(target)
            time.sleep(0.05)
        raise AssertionError(f"the recorder opened no WAV file within {timeout} s")

    def speak(self, pulse: PulseServer, wav: Path) -> None:
        """Play ``wav`` into the virtual mic; return once this recorder has all of it."""
        pulse.play(wav).wait(timeout=60)
        heard_until_now(self.process.pid, self.started)

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def kill_if_running(self) -> None:
        """SIGKILL the recorder if it still runs (a test that failed before it ended), and reap it."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def watch_stderr(self) -> None:
        """Read the recorder's stderr (and stdout) as it comes, for :meth:`wait_for_stderr`; :meth:`finish`
        still returns all of it."""
        self._lines: list[str] = []
        self._changed = threading.Condition()
        self._out: list[bytes] = []

        def read_err() -> None:
            for line in self.process.stderr:
                with self._changed:
                    self._lines.append(line.decode(errors="replace"))
                    self._changed.notify_all()

        self._readers = [threading.Thread(target=read_err, daemon=True),
                         threading.Thread(target=lambda: self._out.append(self.process.stdout.read()), daemon=True)]
        for reader in self._readers:
            reader.start()

    def wait_for_stderr(self, predicate, timeout: float = 60) -> bool:
        """Wait until ``predicate(stderr lines so far)`` holds (True) or ``timeout`` passed or the process
        ended (False); needs :meth:`watch_stderr`."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate(self._lines):
                if time.monotonic() > deadline or self.process.poll() is not None:
                    return bool(predicate(self._lines))
                self._changed.wait(timeout=0.1)
            return True

    def finish(self, timeout: float = 60) -> tuple[int, str, str]:
        """Exit code, stdout and stderr once the process ends (killed, and the test failed, after ``timeout``)."""
        if getattr(self, "_readers", None):
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise AssertionError(f"the recorder hung for {timeout} s; stderr: {''.join(self._lines)[-1000:]}") from None
            for reader in self._readers:
                reader.join(timeout=30)
            return self.process.returncode, b"".join(self._out).decode(), "".join(self._lines)
        try:
            out, err = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, err = self.process.communicate()
            raise AssertionError(f"the recorder hung for {timeout} s; stdout: {(out or b'').decode()[-500:]!r}; "
                                 f"stderr: {(err or b'').decode()[-1000:]}") from None
        return self.process.returncode, out.decode(), (err or b"").decode()


def open_wav(pid: int) -> Path | None:
    """The WAV that process ``pid`` (a recorder, the daemon) has open for writing, most recently written,
    as its ``/proc/PID/fd/N`` link: it reads the open file even inside another mount namespace or after a
    move; None when it has none open."""
    found = []
    fds = Path(f"/proc/{pid}/fd")
    try:
        entries = list(fds.iterdir())
    except OSError:
        return None
    for fd in entries:
        try:
            if os.readlink(fd).endswith(".wav"):
                found.append((fd.stat().st_mtime, fd))
        except OSError:
            continue
    return max(found)[1] if found else None


def recorded_seconds(pid: int) -> float:
    """Seconds of audio in the WAV that process ``pid`` is recording (16 kHz 16-bit mono after its 44-byte
    header, on disk: the recorder writes every half second); 0 when it has none open."""
    path = open_wav(pid)
    try:
        return max(0, path.stat().st_size - 44) / 32_000 if path is not None else 0.0
    except OSError:  # closed meanwhile
        return 0.0


def heard_until_now(pid: int, since: float, before: float = 0.0, timeout: float = 60) -> None:
    """Wait until the recording ``pid`` is making holds every sound played into the virtual mic until now.

    ``since`` is a ``time.monotonic()`` taken before the recording was asked to start: the recording holds
    no audio from before it (but ``before`` seconds of a daemon's pre-roll), so once its WAV holds
    ``now - since + before`` seconds, everything played until now is in it. Never too early; a recorder
    slow to start only makes the wait longer. Replaces a fixed sleep after playing: on a loaded machine a
    recorder may lag seconds behind the microphone."""
    need = time.monotonic() - since + before
    deadline = time.monotonic() + timeout
    while recorded_seconds(pid) < need:
        if time.monotonic() > deadline:
            raise AssertionError(f"the recording of pid {pid} did not reach {need:.1f} s within {timeout:g} s")
        time.sleep(0.05)


#: JFK's speech in jfk.flac: its first sample louder than 1000 (of 32768), and the middle of the pause after "… ask
#: not" (4.3-5.3 s), a clean place to cut the sentence; what a recording cut there holds. (Cut in the pause before
#: it, 2.0-3.2 s, tiny.en hears "And so am I fellow Americans": too little sound to judge the first words by.)
JFK_ONSET, JFK_PAUSE = 0.33, 4.8
JFK_BEFORE_PAUSE = "And so my fellow Americans, ask not"


def wait_until_recorded_into(pid: int, position: float, onset: float = JFK_ONSET, timeout: float = 90) -> None:
    """Wait until the recording process ``pid`` is making holds the speech played into the virtual mic up to
    ``position`` seconds into its file, whose first loud sample is ``onset`` seconds in (the speech is found
    in the recording by that sample: no guess at when it began)."""
    import array

    deadline = time.monotonic() + timeout
    begins = None
    while time.monotonic() < deadline:
        path = open_wav(pid)
        try:
            data = path.read_bytes()[44:] if path is not None else b""
        except OSError:
            data = b""
        samples = array.array("h", data[: len(data) // 2 * 2])
        if begins is None:
            loud = next((i for i, sample in enumerate(samples) if abs(sample) > 1000), None)
            begins = None if loud is None else loud / 16_000 - onset
        if begins is not None and len(samples) / 16_000 >= begins + position:
            return
        time.sleep(0.1)
    raise AssertionError(f"the recording of pid {pid} did not reach {position:g} s into the speech within {timeout:g} s")


def wav_seconds(path: Path) -> float:
    """Duration the WAV header claims (what a plain reader will get)."""
    import wave

    with wave.open(str(path)) as wav:
        return wav.getnframes() / wav.getframerate()
