"""A real PulseAudio daemon with a virtual microphone, for recording tests (and bench/).

The daemon runs as in ``shared/ci-notes.md``: ``pulseaudio -n`` (no default.pa, no
hardware probing), its own runtime dir, an anonymous-auth socket. A null sink ``vmic``
is the "speaker" tests play speech into, and ``virtmic`` (a remap of its monitor) is
the microphone. Clients find it through ``PULSE_SERVER``/``PULSE_SOURCE``/``PULSE_SINK``
(:attr:`PulseServer.env`), which the ALSA ``pulse`` plugin that PortAudio uses honours.

A null sink renders 2 s at a time while no client asks it for less, so a recorder opening its monitor
would get its first audio up to 2 s late (a microphone delivers at once): the server keeps a silent
low-latency player on ``vmic`` (``pacat`` from ``/dev/zero``), and the sink renders in small blocks from
the start. For start-latency measurements use :meth:`PulseServer.pipe_source`, a ``module-pipe-source``
fed in real time.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SINK = "vmic"
SOURCE = "virtmic"


@dataclass
class PulseServer:
    """A running daemon; :meth:`stop` ends it and everything it was fed from."""

    folder: Path
    process: subprocess.Popen
    feeders: list[threading.Event] = field(default_factory=list)
    #: The silent player that keeps the null sink rendering in small blocks (see the module's docstring).
    keeper: subprocess.Popen | None = None

    @property
    def socket(self) -> Path:
        return self.folder / "native"

    @property
    def env(self) -> dict[str, str]:
        """What a client process needs in its environment to record from the virtual mic."""
        return {"PULSE_SERVER": f"unix:{self.socket}", "PULSE_SOURCE": SOURCE, "PULSE_SINK": SINK}

    def pactl(self, *args: str) -> str:
        return subprocess.run(["pactl", *args], env={**os.environ, **self.env}, capture_output=True, text=True,
                              check=True, timeout=10).stdout.strip()

    def play(self, wav: Path) -> subprocess.Popen:
        """Start "speaking" ``wav`` (16-bit!) into the virtual mic; returns the paplay process."""
        return subprocess.Popen(["paplay", f"--device={SINK}", str(wav)], env={**os.environ, **self.env})

    def pipe_source(self, name: str = "pipemic") -> dict[str, str]:
        """A source fed 10 ms of silence every 10 ms (real time); returns the env selecting it."""
        fifo = self.folder / f"{name}.fifo"
        self.pactl("load-module", "module-pipe-source", f"source_name={name}", f"file={fifo}",
                   "format=s16le", "rate=16000", "channels=1")
        stop = threading.Event()
        threading.Thread(target=feed_in_real_time, args=(fifo, stop), daemon=True, name=f"feed-{name}").start()
        self.feeders.append(stop)
        return {**self.env, "PULSE_SOURCE": name}

    def stop(self) -> None:
        from vt_testing.desktop import stop  # here: this module loads before desktop's is a plugin

        for feeder in self.feeders:
            feeder.set()
        if self.keeper is not None:
            stop(self.keeper)
        stop(self.process)


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


#: 10 ms of 16 kHz s16le silence: what a pipe source is fed every 10 ms when nothing else is.
SILENCE_10MS = bytes(320)


def feed_in_real_time(fifo: Path, stop: threading.Event, next_chunk=lambda: SILENCE_10MS) -> None:
    """Write ``next_chunk()`` (10 ms of 16 kHz s16le) to a pipe source's ``fifo`` every 10 ms, as a
    microphone delivers it, until ``stop`` is set or the server closes the pipe."""
    with open(fifo, "wb", buffering=0) as pipe:
        next_at = time.monotonic()
        while not stop.is_set():
            try:
                pipe.write(next_chunk())
            except BrokenPipeError:  # the daemon is gone
                return
            next_at += 0.01
            time.sleep(max(0.0, next_at - time.monotonic()))


def start_pulse(folder: Path) -> PulseServer:
    """Start a daemon with the virtual mic in ``folder`` (its runtime and config dirs)."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    # Not the display of the test that happened to start it: a desktop fixture's teardown stops every process
    # whose environment names its display, and this server outlives that test (it serves the whole worker)
    inherited = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "SWAYSOCK")}
    daemon_env = {**inherited, "XDG_RUNTIME_DIR": str(folder), "XDG_CONFIG_HOME": str(folder / "config"),
                  "HOME": str(folder)}
    log = open(folder / "pulse.log", "wb")
    process = subprocess.Popen(
        ["pulseaudio", "--daemonize=no", "--exit-idle-time=-1", "--system=false", "-n",
         f"--load=module-native-protocol-unix auth-anonymous=1 socket={folder / 'native'}",
         "--load=module-always-sink"],
        env=daemon_env, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    log.close()
    server = PulseServer(folder, process)
    deadline = time.monotonic() + 10
    while True:
        try:
            server.pactl("info")
            break
        except subprocess.CalledProcessError:
            if process.poll() is not None or time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(f"pulseaudio did not start: {(folder / 'pulse.log').read_text()[-500:]}") from None
            time.sleep(0.1)
    server.pactl("load-module", "module-null-sink", f"sink_name={SINK}", "rate=16000", "channels=1")
    server.pactl("load-module", "module-remap-source", f"master={SINK}.monitor", f"source_name={SOURCE}")
    server.pactl("set-default-source", SOURCE)
    keep_rendering(server)
    return server


#: How often the null sink renders while the keeper plays (its requested latency, in ms). A recorder asks for
#: its own, smaller latency once connected; this bounds only its first block's delay and the idle cost: each
#: worker's server runs the whole session, and at 30 ms the server and the keeper used 0.90 CPU-s per 30 s idle
#: (3 % of a core; ~65 CPU-s of a whole suite run with 4 workers), at 100 ms 0.29 (AMD EPYC, 2026-12-07); per
#: 60 s idle at 100 ms 0.64, 0.66, at 250 ms 0.18, 0.21 (a server of start_pulse alone, /proc utime+stime of it
#: and its keeper, nice 19, AMD EPYC, 2026-12-07 07:30 UTC): ~9 CPU-s less in a suite run of 4 workers x 5 min.
KEEPER_LATENCY_MS = 250


def keep_rendering(server: PulseServer) -> None:
    """Start the silent low-latency player on the sink and wait until the sink renders in small blocks: a
    recorder on the monitor gets its first audio at once (the 2 s block under way when the player connected
    must end first: a probe recording tells when it has)."""
    env = {**os.environ, **server.env}
    with open(server.folder / "keeper.log", "wb") as log:
        server.keeper = subprocess.Popen(
            ["pacat", "--playback", f"--device={SINK}", "--raw", "--format=s16le", "--rate=16000", "--channels=1",
             f"--latency-msec={KEEPER_LATENCY_MS}", "/dev/zero"],
            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log)
    probe = subprocess.Popen(["parec", f"--device={SOURCE}", "--raw", "--format=s16le", "--rate=16000", "--channels=1",
                              f"--latency-msec={KEEPER_LATENCY_MS}"], env=env, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        timer = threading.Timer(30, probe.kill)  # a server that never renders: the tests say so, not a hang here
        timer.start()
        probe.stdout.read(320)  # 10 ms of audio
        timer.cancel()
    finally:
        probe.kill()
        probe.wait()
        probe.stdout.close()


def to_16bit_wav(source: Path, target: Path) -> Path:
    """paplay mangles 24-bit FLAC: convert to 16 kHz mono 16-bit WAV, without dither (-D)."""
    subprocess.run(["sox", "-D", str(source), "-r", "16000", "-c", "1", "-b", "16", str(target)], check=True)
    return target


@pytest.fixture(scope="session")
def pulse(tmp_path_factory) -> Iterator[PulseServer]:
    """A PulseAudio daemon with the virtual mic ``virtmic`` (fed by playing into ``vmic``)."""
    missing = [tool for tool in ("pulseaudio", "pactl", "paplay", "sox") if not shutil.which(tool)]
    if missing:
        pytest.skip(f"missing {', '.join(missing)} (apt-get install pulseaudio pulseaudio-utils sox)")
    server = start_pulse(tmp_path_factory.mktemp("pulse"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pulse_env(pulse, monkeypatch) -> dict[str, str]:
    """The virtual mic for this process too (sounddevice in the test); returns the env for subprocesses."""
    for key, value in pulse.env.items():
        monkeypatch.setenv(key, value)
    sd = sys.modules.get("sounddevice")
    if sd is not None:  # PortAudio listed its devices when an earlier test of this worker imported it, maybe
        sd._terminate()  # with no pulse server in reach (then no 'pulse' device): list them again, in this env
        sd._initialize()
    return pulse.env


@pytest.fixture(scope="session")
def jfk16k(jfk_path, tmp_path_factory) -> Path:
    """jfk.flac as 16 kHz 16-bit WAV, ready for paplay (11 s)."""
    return to_16bit_wav(jfk_path, tmp_path_factory.mktemp("jfk") / "jfk16k.wav")


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
