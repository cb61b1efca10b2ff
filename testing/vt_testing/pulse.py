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
fed in real time. A ``voice-transcriber`` recording from the mic, and how far it got: :mod:`vt_testing.recorder`.
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


#: 10 ms of 16 kHz s16le silence: what a pipe source is fed every 10 ms when nothing else is.
SILENCE_10MS = bytes(320)
#: A write to the pipe source's FIFO that took longer than this (s) waited for a reader: no recording was running
WRITE_BLOCKED = 0.2


def feed_in_real_time(fifo: Path, stop: threading.Event, next_chunk=lambda: SILENCE_10MS) -> None:
    """Write ``next_chunk()`` (10 ms of 16 kHz s16le) to a pipe source's ``fifo`` every 10 ms, as a
    microphone delivers it, until ``stop`` is set or the server closes the pipe.

    While nothing records from the source the server stops reading the pipe after a second or two, and a write
    blocks until a recording starts. The 10 ms steps missed meanwhile are not made up for: written at once, they
    reached the next recording as seconds of silence from before it started (a 2.2 s recording process made a
    12.2 s file after 12 s without a recording), which no microphone delivers. A write that was slow only because
    this thread got no CPU is still caught up on, as before."""
    with open(fifo, "wb", buffering=0) as pipe:
        next_at = time.monotonic()
        while not stop.is_set():
            before = time.monotonic()
            try:
                pipe.write(next_chunk())
            except BrokenPipeError:  # the daemon is gone
                return
            after = time.monotonic()
            next_at = after if after - before > WRITE_BLOCKED else next_at + 0.01
            time.sleep(max(0.0, next_at - after))


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
