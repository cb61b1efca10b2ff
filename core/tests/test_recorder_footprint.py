"""What a recording process holds while the user speaks (issue 15: a light recorder).

A real ``voice-transcriber`` records from the PulseAudio virtual mic with the ``openai`` backend
pointed at a local replica of the API. Once the recording loop runs, the test asks the process
(through a flag file a watcher thread polls) which modules it has loaded: the HTTP client is
created when the recording stops, not held through the recording. After the stop the text
arrives from the server as always. No timings.
"""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path

import pytest

from vt_testing.openai_api import json_reply, openai_transcription
from vt_testing.recorder import RecordingProcess, wav_seconds

pytestmark = pytest.mark.slow

#: ``python -c RUN FLAG OUT voice-transcriber ARGS``: the real entry point with ARGS; a watcher thread
#: writes sys.modules to OUT once FLAG exists.
RUN = """
import json, os, sys, threading, time
flag, out, _executable = sys.argv.pop(1), sys.argv.pop(1), sys.argv.pop(1)
def watch():
    while not os.path.exists(flag):
        time.sleep(0.01)
    names = sorted(sys.modules)
    with open(out + ".tmp", "w") as file:
        json.dump(names, file)
    os.replace(out + ".tmp", out)
threading.Thread(target=watch, daemon=True).start()
sys.argv[0] = "voice-transcriber"
from voice_transcriber.__main__ import main
main()
"""
#: Loaded only once there is something to send: the HTTP client, and what httpx's own CLI would pull in; and
#: nothing a dictation printed to stdout never uses: the clipboard sink, its config models, the window probe.
NOT_WHILE_RECORDING = {"httpx", "httpcore", "ssl", "certifi", "rich", "pygments", "numpy", "soundfile",
                       "voice_transcriber_clipboard.sink", "voice_transcriber_clipboard.config",
                       "voice_transcriber_clipboard.focus"}


def test_the_openai_recorder_creates_its_http_client_when_the_recording_stops(pulse, openai_api, isolated_dirs,
                                                                               tmp_path):
    openai_api.transcriptions(json_reply(openai_transcription("Send the report by Friday.")))
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    env = {**pulse.env, "XDG_RUNTIME_DIR": str(runtime),
           "VOICE_TRANSCRIBER_TRANSCRIPTION__OPENAI__API_KEY": "sk-test",
           "VOICE_TRANSCRIBER_TRANSCRIPTION__OPENAI__BASE_URL": openai_api.url,
           "VOICE_TRANSCRIBER_TRANSCRIPTION__OPENAI__SKIP_SILENCE": "false"}  # the virtual mic hears silence
    flag, dump = tmp_path / "flag", tmp_path / "modules.json"
    rec = RecordingProcess("--debug", "--backend", "openai", "--output", "stdout", env=env,
                           wrapper=(sys.executable, "-c", RUN, str(flag), str(dump)))
    wav = rec.wait_for_open_wav()
    deadline = time.monotonic() + 30
    while wav_seconds_written(wav) < 1.0:  # the recording loop has run for a while: prepare() would have started
        assert time.monotonic() < deadline and rec.process.poll() is None, "the recorder wrote no audio"
        time.sleep(0.05)
    flag.touch()
    while not dump.exists():
        assert time.monotonic() < deadline and rec.process.poll() is None, "the recorder did not report its modules"
        time.sleep(0.05)
    rec.signal(signal.SIGUSR1)
    code, out, err = rec.finish()

    loaded = set(json.loads(dump.read_text()))
    assert not NOT_WHILE_RECORDING & loaded, err
    assert "voice_transcriber_backends.openai_backend" in loaded, "the backend itself is created before recording"
    assert "voice_transcriber_clipboard.plugin" in loaded, "the clipboard plugin's hooks saw the recording start"
    assert code == 0, err
    assert out.strip() == "Send the report by Friday."
    assert "prepare:openai" in err, "prepare() ran, at the stop"
    assert len(openai_api.requests()) == 1 and wav_seconds(wav) >= 1.0


#: ``python -c AT_EXIT OUT voice-transcriber ARGS``: the real entry point with ARGS, writing the names of the modules
#: it loaded to OUT at exit (before the pipeline's exit handler, which may end the process at once).
AT_EXIT = """
import atexit, sys
out, _executable = sys.argv.pop(1), sys.argv.pop(1)
import voice_transcriber.pipeline
atexit.register(lambda: open(out, "w").write("\\n".join(sorted(sys.modules))))
sys.argv[0] = "voice-transcriber"
from voice_transcriber.__main__ import main
main()
"""


def test_a_silent_recording_is_judged_without_numpy_or_soundfile(pulse, isolated_dirs, tmp_path):
    """The virtual mic hears silence: the openai backend's silence gate judges the take by the loudest sample
    the recorder measured, its length for the run state comes from the WAV's header, and the recorder never
    loads numpy or soundfile (what most background recorders of the hotkey tests do)."""
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    env = {**pulse.env, "XDG_RUNTIME_DIR": str(runtime), "OPENAI_API_KEY": "sk-test-not-used",
           "VOICE_TRANSCRIBER_TRANSCRIPTION__OPENAI__BASE_URL": "http://127.0.0.1:9/v1"}  # never reached
    modules = tmp_path / "modules.txt"
    rec = RecordingProcess("--backend", "openai", "--output", "stdout", env=env,
                           wrapper=(sys.executable, "-c", AT_EXIT, str(modules)))
    wav = rec.wait_for_open_wav()
    rec.signal(signal.SIGUSR1)
    code, out, err = rec.finish()

    assert (code, out) == (0, ""), err
    assert err == f"voice-transcriber: no speech detected in {wav}; nothing delivered\n"
    assert not {"numpy", "soundfile"} & set(modules.read_text().split())


def wav_seconds_written(path: Path) -> float:
    """Seconds of 16 kHz 16-bit audio in a WAV still being written (its header is not final yet)."""
    return max(0, path.stat().st_size - 44) / 32_000


def test_each_backend_prepares_when_it_declares(tmp_path):
    from voice_transcriber import Backend, Transcript
    from voice_transcriber.config import load_settings
    from voice_transcriber.context import RunContext
    from voice_transcriber.pipeline import Plan, prepare_in_background

    prepared: list[str] = []

    class Model(Backend):  # a model load: while the user speaks
        name = "model"

        def prepare(self):
            prepared.append(self.name)

        def transcribe(self, audio):
            return Transcript("", backend=self.name)

    class Client(Model):  # quick, and memory the recorder need not hold: at the stop
        name = "client"
        prepare_while_recording = False

    ctx = RunContext(load_settings())
    plan = Plan(backends=[Model(ctx), Client(ctx)])
    for when, expected in ((True, ["model"]), (False, ["client"]), (None, ["model", "client"])):
        prepared.clear()
        for thread in prepare_in_background(plan, ctx, recording=when):
            thread.join(30)
        assert sorted(prepared) == sorted(expected), when
