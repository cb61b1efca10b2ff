"""``--live``: partial text reaches the sinks that can show it, and is taken back when no final text comes."""

from __future__ import annotations

import pytest

from voice_transcriber import Formatter, Sink, SinkError, hookimpl
from voice_transcriber.config import load_settings
from voice_transcriber.context import RunContext
from voice_transcriber.live import LiveText


class LiveSink(Sink):
    """Records what it was asked to show and what it finally got."""

    name = "fake-live"
    live = True
    calls: list[tuple[str, str]] = []

    def show_partial(self, text):
        LiveSink.calls.append(("show", text))

    def deliver(self, text, transcript):
        LiveSink.calls.append(("deliver", text))


class EmptyFormatter(Formatter):
    """What the hallucination filter does to "Thank you." on silence: nothing is left."""

    name = "fake-empty"

    def format(self, transcript):
        return ""


class LivePlugin:
    @hookimpl
    def vt_register_sinks(self, register):
        register(LiveSink)

    @hookimpl
    def vt_register_formatters(self, register):
        register(EmptyFormatter)


@pytest.fixture
def live_cli(plugin_manager, cli):
    LiveSink.calls = []
    plugin_manager.register_plugin(LivePlugin(), "fake-live-plugin")
    try:
        yield cli
    finally:
        plugin_manager.unregister(name="fake-live-plugin")


def test_live_sink_shows_partial_text_then_gets_the_final_text(live_cli, jfk_path):
    from vt_testing.core import ListSink

    result = live_cli("--input", str(jfk_path), "--backend", "fake-duration", "--output", "fake-live,fake-list",
             "--format", "fake-upper", "--live")
    assert LiveSink.calls == [("show", "decoding"), ("deliver", "11.0 SECONDS OF AUDIO")]
    assert ListSink.delivered == ["11.0 SECONDS OF AUDIO"], "a sink without live support gets the final text only"
    assert "--live" not in result.stderr, "no warning when a chosen sink can show live text"


def test_without_live_the_sink_gets_only_the_final_text(live_cli, jfk_path):
    live_cli("--input", str(jfk_path), "--backend", "fake-duration", "--output", "fake-live")
    assert LiveSink.calls == [("deliver", "11.0 seconds of audio")]


def test_live_with_sinks_that_cannot_show_it_warns_in_one_line_and_delivers(live_cli, jfk_path):
    from vt_testing.core import ListSink

    result = live_cli("--input", str(jfk_path), "--backend", "fake-duration", "--output", "fake-list", "--live")
    assert result.exit_code in (0, None)
    assert ListSink.delivered == ["11.0 seconds of audio"]
    warnings = [line for line in result.stderr.splitlines() if "--live" in line]
    assert warnings == ["voice-transcriber: --live: the chosen sinks (fake-list) cannot show text while it is "
                        "recognised (the typing sink can); they get the final text only"]


def test_live_text_is_taken_back_when_no_final_text_comes(live_cli, jfk_path):
    live_cli("--input", str(jfk_path), "--backend", "fake-duration", "--output", "fake-live",
             "--format", "fake-empty", "--live")
    assert LiveSink.calls == [("show", "decoding"), ("show", "")]


def test_partial_text_of_another_run_is_not_shown(isolated_dirs):
    sink_ctx = RunContext(load_settings())
    shown: list[str] = []
    sink = LiveSink(sink_ctx)
    sink.show_partial = shown.append  # type: ignore[method-assign]
    live = LiveText(sink_ctx.run_id, [sink])
    live.vt_partial_text(RunContext(load_settings(), run_id="another-run"), "not mine")
    live.vt_partial_text(sink_ctx, "mine")
    assert shown == ["mine"]


def test_a_sink_failing_to_show_is_dropped_with_one_warning_and_still_delivered_to(isolated_dirs, capsys):
    ctx = RunContext(load_settings())
    sink = LiveSink(ctx)

    def broken(text):
        raise SinkError("typing: xdotool failed: no display")

    sink.show_partial = broken  # type: ignore[method-assign]
    live = LiveText(ctx.run_id, [sink])
    live.vt_partial_text(ctx, "one")
    live.vt_partial_text(ctx, "two")
    assert live.sinks == []
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["voice-transcriber: --live: typing: xdotool failed: no display; 'fake-live' gets the final text only"]
