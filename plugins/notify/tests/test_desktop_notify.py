"""Notifications against a real session bus and a real notification server (dunst under Xvfb)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from voice_transcriber import Audio, BackendError, Cancelled, DeliveredElsewhere, RunContext, Transcript
from voice_transcriber.config import load_settings
from voice_transcriber.plugins import get_plugin_manager
from voice_transcriber_notify import notifications
from voice_transcriber_notify.bubble import escape_markup, gvariant_string, session_bus_available
from vt_testing.openai_api import json_reply, openai_transcription
from vt_testing.tool_stubs import run_in_process

SECOND = Audio.from_samples(np.zeros(16000, dtype=np.float32), 16000)
TEXT = 'Ask not <what> your country & "can" do — café 😀'


@pytest.fixture
def on_bus(monkeypatch, tmp_path):
    """``on_bus(bus)``: this process talks to ``bus`` (None: no session bus at all)."""

    def point(bus) -> None:
        monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
        monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))  # no $XDG_RUNTIME_DIR/bus either
        if bus is not None:
            monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", bus.address)

    yield point
    notifications._runs.clear()


def run_context(write_config, **notify) -> RunContext:
    """A run whose events reach only the notify plugin (the tracker's side effects stay out)."""
    write_config({"notify": notify})
    return RunContext(load_settings(), pm=get_plugin_manager(environ={"VOICE_TRANSCRIBER_LOAD_PLUGINS": "notify"}))


def step(ctx: RunContext, emit) -> None:
    """Emit one event and wait until its bubble update reached the server (no coalescing)."""
    emit()
    run = notifications._runs.get(ctx.run_id)
    if run is not None:
        run.bubble.flush(timeout=15)  # generous: the machine may be busy; returns as soon as it is sent


def test_one_bubble_goes_from_recording_to_the_result(notification_server, notify_monitor, on_bus, write_config):
    on_bus(notification_server.bus)
    ctx = run_context(write_config, partialText=True)
    transcript = Transcript(text=TEXT, backend="local")
    ctx.info["profile"] = "terminal"
    step(ctx, ctx.recording_started)
    step(ctx, lambda: ctx.recording_stopped(SECOND))
    step(ctx, lambda: ctx.transcription_started(SECOND, "local"))
    step(ctx, lambda: ctx.partial_text("Ask not"))
    step(ctx, lambda: ctx.text_delivered(TEXT, "typing", transcript))
    step(ctx, lambda: ctx.text_delivered(TEXT, "clipboard", transcript))
    ctx.pipeline_finished(transcript)

    shown = notify_monitor.wait_for(6)
    assert [n.summary for n in shown] == ["Recording…", "Transcribing…", "Transcribing…", "Transcribing…",
                                          "Delivered → typing", "Delivered → typing, clipboard"]
    assert [n.body for n in shown[:4]] == ["Speak now; stop with your hotkey or Enter. Profile: terminal.",
                                          "1.0 s recorded", "with local", "Ask not"]
    assert shown[-1].body == escape_markup(TEXT)  # shown as spoken, not parsed as markup
    bubble_id = shown[0].id
    assert bubble_id and all(n.id == bubble_id for n in shown)  # one bubble, updated in place
    assert [n.replaces_id for n in shown] == [0] + [bubble_id] * 5
    assert [n.timeout for n in shown] == [0, 0, 0, 0, 5000, 5000]  # progress stays; the result expires
    assert shown[0].app == "voice-transcriber" and shown[0].urgency == 1
    assert notify_monitor.displayed() == 1


def test_a_failure_replaces_the_progress_bubble_with_the_error(notification_server, notify_monitor, on_bus,
                                                               write_config):
    on_bus(notification_server.bus)
    ctx = run_context(write_config, errorUrgency="critical", timeout=1200)
    step(ctx, ctx.recording_started)
    ctx.pipeline_failed(BackendError("speaches: connection refused at http://gpu:8000 (start the server)"))
    shown = notify_monitor.wait_for(2)
    assert [n.summary for n in shown] == ["Recording…", "Dictation failed"]
    assert shown[1].body == "speaches: connection refused at http://gpu:8000 (start the server)"
    assert shown[1].urgency == 2 and shown[1].timeout == 1200 and shown[1].icon == "dialog-error"
    assert shown[1].replaces_id == shown[0].id == shown[1].id


def test_cancel_and_no_speech_say_so(notification_server, notify_monitor, on_bus, write_config):
    on_bus(notification_server.bus)
    cancelled = run_context(write_config)
    cancelled.pipeline_failed(Cancelled("cancelled by the user"))
    silent = run_context(write_config)
    silent.pipeline_finished(Transcript(text="  ", backend="local"))
    shown = notify_monitor.wait_for(2)
    assert sorted(n.summary for n in shown) == ["Dictation cancelled", "No speech detected"]
    assert shown[0].id != shown[1].id  # two runs, two bubbles


def test_gdbus_transport_replaces_the_bubble_and_keeps_text_exact(notification_server, notify_monitor, on_bus,
                                                                  write_config):
    on_bus(notification_server.bus)
    ctx = run_context(write_config, tool="gdbus", urgency="low", showText=True)
    text = "[1] it's {\"quoted\"} \\ 'x' — 😀"
    step(ctx, lambda: ctx.transcription_started(SECOND, "openai"))
    ctx.text_delivered(text, "clipboard", Transcript(text=text, backend="openai"))
    ctx.pipeline_finished(Transcript(text=text, backend="openai"))
    shown = notify_monitor.wait_for(2)
    assert [n.summary for n in shown] == ["Transcribing…", "Delivered → clipboard"]
    assert shown[1].body == text and shown[1].urgency == 0
    assert shown[1].replaces_id == shown[0].id == shown[1].id
    assert notify_monitor.displayed() == 1


def test_show_text_false_hides_the_transcript(notification_server, notify_monitor, on_bus, write_config):
    on_bus(notification_server.bus)
    ctx = run_context(write_config, showText=False)
    ctx.text_delivered("my secret diary entry", "typing", Transcript(text="x", backend="local"))
    ctx.pipeline_finished(Transcript(text="my secret diary entry", backend="local"))
    shown = notify_monitor.wait_for(1)
    assert shown[-1].body == "4 words"


def test_a_real_transcription_run_updates_one_bubble(notification_server, notify_monitor, jfk_path, openai_api):
    """A whole ``transcribe`` run against the OpenAI replica server, in this process (the bubble's course is the
    point, not the process: ~0.4 CPU-s less; the local model's own run, in a real recorder, is the recording
    test below)."""
    said = 'Please send the "report" by Friday & <soon>.'  # markup characters: escaped in the bubble
    openai_api.transcriptions(json_reply(openai_transcription(said)))
    result = run_in_process("transcribe", str(jfk_path), "--backend", "openai", "--output", "stdout", "--no-format",
                            env={**notification_server.bus.env,
                                 "VOICE_TRANSCRIBER_TRANSCRIPTION__OPENAI__API_KEY": "sk-test",
                                 "VOICE_TRANSCRIBER_TRANSCRIPTION__OPENAI__BASE_URL": openai_api.url})
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode().strip() == said
    shown = notify_monitor.wait_for(2)
    assert shown[0].summary == "Transcribing…" and shown[-1].summary == "Delivered → stdout"
    assert shown[-1].body == escape_markup(said)
    assert len({n.id for n in shown}) == 1 and shown[-1].replaces_id == shown[0].id
    assert notify_monitor.displayed() == 1

def test_silently_off_when_no_server_owns_the_name(session_bus, on_bus, write_config, capsys):
    on_bus(session_bus)
    ctx = run_context(write_config)
    ctx.recording_started()
    ctx.text_delivered("hello", "typing", Transcript(text="hello", backend="local"))
    run = notifications._runs[ctx.run_id]
    ctx.pipeline_finished(Transcript(text="hello", backend="local"))
    assert run.bubble.failed and run.bubble.sent == []
    assert ctx.run_id not in notifications._runs, "a run leaves the table at its outcome"
    assert capsys.readouterr().err == ""


def test_off_without_a_session_bus_or_when_disabled(on_bus, write_config, stub_tool, session_bus):
    notify_send = stub_tool("notify-send", stdout="7\n")
    on_bus(None)
    assert not session_bus_available()
    ctx = run_context(write_config)
    ctx.recording_started()
    assert notifications._runs[ctx.run_id] is None
    ctx.pipeline_finished(Transcript(text="hello", backend="local"))
    on_bus(session_bus)
    disabled = run_context(write_config, enabled=False)
    disabled.recording_started()
    assert notifications._runs[disabled.run_id] is None
    assert notify_send.calls() == []  # nothing was even tried
    assert ctx.run_id not in notifications._runs


def test_bad_notify_config_warns_once_and_never_breaks_the_run(on_bus, write_config, session_bus, capsys):
    on_bus(session_bus)
    ctx = run_context(write_config, urgency="loud")
    ctx.recording_started()
    ctx.pipeline_finished(Transcript(text="hello", backend="local"))
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "notifications off" in err and "notify.urgency" in err


def test_notify_send_argv_is_safe(stub_tool, on_bus, session_bus, write_config):
    notify_send = stub_tool("notify-send", stdout="42\n")
    on_bus(session_bus)
    ctx = run_context(write_config, tool="notify-send")
    step(ctx, ctx.recording_started)
    ctx.text_delivered("-rf <b>", "typing", Transcript(text="-rf <b>", backend="local"))
    ctx.pipeline_finished(Transcript(text="-rf <b>", backend="local"))
    first, last = notify_send.argvs()
    assert "--print-id" in first and not any(a.startswith("--replace-id") for a in first)
    assert "--replace-id=42" in last and "--expire-time=5000" in last
    assert last[-3:] == ["--", "Delivered → typing", "-rf &lt;b&gt;"]  # text after `--`, one argument


def test_gvariant_quoting():
    assert gvariant_string("it's a \\ test") == "'it\\'s a \\\\ test'"
    assert escape_markup("a<b>&c") == "a&lt;b&gt;&amp;c"


def doctor_line(env: dict[str, str]) -> str:
    result = run_in_process("doctor", env=env)
    return next(line for line in result.stdout.decode().splitlines() if "notifications:" in line)


def test_doctor_reports_the_notification_server(notification_server, session_bus, tmp_path):
    assert doctor_line(notification_server.bus.env).startswith("ok    notifications: shown by dunst ")
    assert doctor_line(session_bus.env).startswith("FAIL  notifications: no notification server owns")
    no_bus = {"DBUS_SESSION_BUS_ADDRESS": "", "XDG_RUNTIME_DIR": str(tmp_path)}
    assert doctor_line(no_bus) == "ok    notifications: off: no session bus ($DBUS_SESSION_BUS_ADDRESS unset)"


def test_public_redact_is_the_function_even_after_its_submodule_was_imported():
    import voice_transcriber.redact  # noqa: F401 - what the core's own modules do first
    from voice_transcriber import redact

    assert callable(redact) and "sk-abcdefgh12345" not in redact("key sk-abcdefgh12345 leaked")


@pytest.mark.slow
def test_a_real_recording_shows_recording_then_the_result(notification_server, notify_monitor, pulse, jfk16k,
                                                          tiny_model_dir):
    from vt_testing.recorder import RecordingProcess

    env = {**pulse.env, **notification_server.bus.env,
           "VOICE_TRANSCRIBER_TRANSCRIPTION__LOCAL__MODEL": str(tiny_model_dir)}
    recorder = RecordingProcess("--max-duration", "3", "--backend", "local", "--no-format", "--output", "stdout",
                                env=env)  # 3 s of the 11 s sample: the bubble's course is the point, not the length
    speaker = pulse.play(jfk16k)
    try:
        code, out, err = recorder.finish(timeout=90)
    finally:
        speaker.terminate()
        speaker.wait(timeout=5)
    assert code == 0, err
    shown = notify_monitor.wait_for(3)
    assert shown[0].summary == "Recording…" and "Transcribing…" in [n.summary for n in shown]
    assert shown[-1].summary == "Delivered → stdout" and shown[-1].body == escape_markup(out.strip())
    assert len({n.id for n in shown}) == 1 and notify_monitor.displayed() == 1


def test_a_streamed_run_only_moves_forward(notification_server, notify_monitor, on_bus, write_config, monkeypatch):
    """Issue 21 row 6: partial text while recording keeps the title "Recording…"; after the stop the
    text stays (never back to "" or "with local") and only grows; a late, shorter partial is ignored."""
    monkeypatch.setattr(notifications, "PARTIAL_INTERVAL", 0)
    on_bus(notification_server.bus)
    ctx = run_context(write_config, partialText=True)
    final = "And so, my fellow Americans, ask not."
    step(ctx, ctx.recording_started)
    step(ctx, lambda: ctx.partial_text("And so,"))
    step(ctx, lambda: ctx.partial_text("And so, my fellow Americans,"))
    step(ctx, lambda: ctx.recording_stopped(SECOND))
    step(ctx, lambda: ctx.transcription_started(SECOND, "local"))
    step(ctx, lambda: ctx.partial_text("And so,"))  # late and shorter: not shown
    step(ctx, lambda: ctx.partial_text("And so, my fellow Americans, ask not"))
    step(ctx, lambda: ctx.text_delivered(final, "typing", Transcript(text=final, backend="local")))
    ctx.pipeline_finished(Transcript(text=final, backend="local"))
    step(ctx, ctx.recording_started)  # a stray late event after the result changes nothing

    shown = notify_monitor.wait_for(7)
    assert [n.summary for n in shown] == ["Recording…", "Recording…", "Recording…", "Transcribing…",
                                          "Transcribing…", "Transcribing…", "Delivered → typing"]
    bodies = [n.body for n in shown[1:]]
    assert bodies == ["And so,", "And so, my fellow Americans,", "And so, my fellow Americans,",
                      "And so, my fellow Americans,", "And so, my fellow Americans, ask not", final]
    assert all(later.startswith(earlier.rstrip(",.")) for earlier, later in zip(bodies, bodies[1:]))


#: The title the bubble shows for each event of the stream (None: the event changes nothing shown).
def title_for(event: dict, sinks: list[str]) -> str | None:
    kind = event["event"]
    if kind in ("recording", "recorded", "transcribing", "partial"):
        return {"recording": "Recording…", "transcribing": "Transcribing…"}[event["state"]]
    if kind == "sink":
        sinks.append(event["sink"])
        return f"Delivered → {', '.join(sinks)}"
    if kind == "failed":
        return {"no speech detected": "No speech detected"}.get(event["error"]) or \
            notifications.REDIRECTED.get(event.get("outcome"), "Dictation failed")
    return {"cancelled": "Dictation cancelled"}.get(kind)  # transcript, delivered: nothing new to show


def test_back_to_back_overlapping_runs_show_exactly_their_event_stream(notification_server, notify_monitor, on_bus,
                                                                        write_config, monkeypatch, tmp_path):
    """Issue 21: the notifications are fed by the run event stream. Ten dictations back to back, each
    starting before the previous one is delivered: every run's bubble shows one title per event of
    its run in the journal (the records the tray and `status --follow` get), in order — none dropped,
    none after the outcome — and each title is the state of its event."""
    monkeypatch.setattr(notifications, "PARTIAL_INTERVAL", 0)
    on_bus(notification_server.bus)
    runs = [run_context(write_config, partialText=True) for _ in range(10)]

    def finish(k: int, ctx: RunContext) -> None:
        text = f"Dictation number {k}, spoken back to back."
        step(ctx, lambda: ctx.recording_stopped(SECOND))
        step(ctx, lambda: ctx.transcription_started(SECOND, "local"))
        step(ctx, lambda: ctx.partial_text(text[:12]))
        if k == 3:
            return step(ctx, lambda: ctx.pipeline_failed(Cancelled("cancelled by the user")))
        if k == 5:
            return step(ctx, lambda: ctx.pipeline_failed(BackendError("local: model file damaged (reinstall it)")))
        if k == 7:
            return step(ctx, lambda: ctx.pipeline_finished(Transcript(text="", backend="local")))
        if k == 9:
            error = DeliveredElsewhere("the focus moved: the rest is on the clipboard", outcome="partly")
            return step(ctx, lambda: ctx.pipeline_failed(error))
        step(ctx, lambda: ctx.text_delivered(text, "typing", Transcript(text=text, backend="local")))
        step(ctx, lambda: ctx.text_delivered(text, "clipboard", Transcript(text=text, backend="local")))
        step(ctx, lambda: ctx.pipeline_finished(Transcript(text=text, backend="local")))
        step(ctx, lambda: ctx.partial_text(text + " and late"))  # a backend's late partial: never shown

    bubbles = {}  # each run's bubble: the plugin forgets a run at its outcome
    for k, ctx in enumerate(runs):
        step(ctx, ctx.recording_started)
        bubbles[ctx.run_id] = notifications._runs[ctx.run_id]
        step(ctx, lambda: ctx.partial_text("Dictation"))  # streamed while recording
        if k:
            finish(k - 1, runs[k - 1])
    finish(9, runs[-1])

    journal = [json.loads(line) for line in (tmp_path / "voice-transcriber" / "events.jsonl").read_text().splitlines()]
    assert [e["seq"] for e in journal] == list(range(journal[0]["seq"], journal[0]["seq"] + len(journal))), \
        "the stream itself dropped nothing"
    expected = {}
    for ctx in runs:
        sinks: list[str] = []
        events = [e for e in journal if e["run"] == ctx.run_id]
        assert events and events[-1]["event"] in ("delivered", "failed", "cancelled"), "every run reached its outcome"
        expected[ctx.run_id] = [title for title in (title_for(e, sinks) for e in events) if title]
    shown = notify_monitor.wait_for(sum(map(len, expected.values())), timeout=60)
    by_bubble = {}
    for note in shown:
        by_bubble.setdefault(note.id, []).append(note.summary)
    for k, ctx in enumerate(runs):
        bubble = bubbles[ctx.run_id].bubble.notification_id
        assert by_bubble.get(bubble) == expected[ctx.run_id], f"run {k}: its bubble against its events"
    assert len(by_bubble) == len(runs), "one bubble per run"
    assert len(shown) == sum(map(len, expected.values())), "nothing shown beyond the runs' events"
    assert not any(ctx.run_id in notifications._runs for ctx in runs), "every run left the table at its outcome"
    assert by_bubble[bubbles[runs[9].run_id].bubble.notification_id][-1] == \
        "Delivered partly — the rest is on the clipboard"


def test_notifications_observe_the_event_stream_and_no_other_run_hook():
    """One source of truth: the bubble is built from `vt_run_event` (the stream's records), not from a
    separate path through the finer hooks that could tell a different story."""
    from voice_transcriber.hookspecs import EVENT_HOOKS

    observed = {name for name in EVENT_HOOKS if hasattr(notifications, name)}
    assert observed == {"vt_run_event"}


def test_a_stage_shorter_than_a_send_is_still_shown_and_a_stage_keeps_only_its_latest_update():
    """While an update is being sent, newer updates of the same stage replace each other, but a new stage waits
    behind them: a "Transcribing…" that lasted less than one send is shown before the result (a fresh-clone run
    once saw Recording…, Recording…, Delivered)."""
    import threading

    from voice_transcriber_notify.bubble import Bubble, Message

    sending, release, sent = threading.Event(), threading.Event(), []

    def slow_transport(message: Message, replace_id: int) -> int:
        sending.set()
        release.wait(10)  # the first send blocks until every update below is queued
        sent.append(message.summary + (f": {message.body}" if message.body else ""))
        return 7

    bubble = Bubble(slow_transport)
    bubble.show(Message("Recording…", ""))
    assert sending.wait(10)
    for partial in ("And so", "And so my", "And so my fellow"):
        bubble.show(Message("Recording…", partial))
    bubble.show(Message("Transcribing…", "with local"))
    bubble.show(Message("Delivered → stdout", "And so my fellow Americans"))
    release.set()
    bubble.flush()
    assert sent == ["Recording…", "Recording…: And so my fellow", "Transcribing…: with local",
                    "Delivered → stdout: And so my fellow Americans"]
    assert bubble.notification_id == 7 and not bubble.failed
