"""Text safety in the core: control characters from a backend, formatter or plugin never reach a sink."""

from __future__ import annotations

import unicodedata

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voice_transcriber import Audio, Backend, Formatter, RunContext, Sink, SinkError, Transcript
from voice_transcriber.config import load_settings
from voice_transcriber.pipeline import Plan, deliver, run
from voice_transcriber.safe_text import clean_text, safe_text

HOSTILE = "tab\there esc\x1b[31mred\x1b[0m bs\x08x cr\rend"


@pytest.mark.parametrize(("raw", "clean", "dropped"), [
    (HOSTILE, "tab\there escred bsx crend", {"escape sequence": 2, "BS": 1, "CR": 1}),
    ("nul\x00byte", "nulbyte", {"NUL": 1}),
    ("one\r\ntwo", "one\ntwo", {}),
    ("line\u2028sep", "line\nsep", {}),
    ("title\x1b]0;pwned\x07 done", "title done", {"escape sequence": 1}),
    ("paste end\x1b[201~; rm -rf ~", "paste end; rm -rf ~", {"escape sequence": 1}),
    ("c1 csi\x9b2J", "c1 csi", {"escape sequence": 1}),
    ("open\x1b]0;never closed, the words stay", "open0;never closed, the words stay", {"escape sequence": 1}),
    ("mojibake\x9d quote stays", "mojibake quote stays", {"U+009D": 1}),
    ("bell\x07 del\x7f lone esc\x1b", "bell del lone esc", {"BEL": 1, "DEL": 1, "ESC": 1}),
    ("bad\ud800text", "badtext", {"invalid character (lone surrogate)": 1}),
    ("trojan\u202esource\u2066", "trojansource",
     {"U+202E RIGHT-TO-LEFT OVERRIDE": 1, "U+2066 LEFT-TO-RIGHT ISOLATE": 1}),
    ("\ufeffbom", "bom", {"BOM": 1}),
    ("café — naïve 😀 👍🏽 e\u0301 Ünïcödé ‘quotes’", "café — naïve 😀 👍🏽 e\u0301 Ünïcödé ‘quotes’", {}),
])
def test_clean_text(raw, clean, dropped):
    cleaned = clean_text(raw)
    assert cleaned.text == clean
    assert cleaned.dropped == dropped


def test_safe_text_logs_one_line_saying_what_was_dropped():
    lines: list[str] = []
    assert safe_text(HOSTILE, lines.append, "the reply of 'x'") == "tab\there escred bsx crend"
    assert lines == ["dropped from the reply of 'x' (never typed): 2 escape sequences, 1 BS, 1 CR"]
    assert safe_text("clean text", lines.append) == "clean text" and len(lines) == 1


def test_clean_text_rejects_what_is_not_text():
    with pytest.raises(TypeError, match="expected text"):
        clean_text(b"bytes")  # type: ignore[arg-type]


@settings(max_examples=400, deadline=None, derandomize=True, database=None)
@given(st.text(alphabet=st.characters(codec=None), max_size=60))
def test_any_text_comes_out_without_control_characters(text):
    cleaned = clean_text(text).text
    assert all(char in "\n\t" or unicodedata.category(char) not in ("Cc", "Cs") for char in cleaned)
    assert not any("\u202a" <= char <= "\u202e" or "\u2066" <= char <= "\u2069" for char in cleaned)
    assert clean_text(cleaned).text == cleaned  # idempotent
    cleaned.encode("utf-8")  # always valid Unicode
    printable = [char for char in text if char.isprintable() and char not in "\x1b\x9b"]
    if not any(char in text for char in "\x1b\x9b\x90\x98\x9d\x9e\x9f"):  # no escape sequence ate text
        assert [char for char in cleaned if char.isprintable()] == printable


# --- the pipeline applies it before any sink sees the text -------------------------------------


class HostileBackend(Backend):
    name = "hostile"

    def transcribe(self, audio):
        self.ctx.partial_text("partial\x1b[2K\x08")
        return Transcript(text=HOSTILE + "\x00", backend=self.name)


class NotTextBackend(Backend):
    name = "not-text"

    def transcribe(self, audio):
        return Transcript(text=None, backend=self.name)  # type: ignore[arg-type]


class HostileFormatter(Formatter):
    name = "hostile-llm"

    def format(self, transcript):
        return transcript.text + " \x1b[201~ok\x03"


class NoneFormatter(Formatter):
    name = "none-formatter"

    def format(self, transcript):
        return None


class Recorder(Sink):
    name = "recorder"
    live = True

    def __init__(self, ctx):
        super().__init__(ctx)
        self.got: list[str] = []
        self.partials: list[str] = []

    def deliver(self, text, transcript):
        assert transcript.text == text
        self.got.append(text)


@pytest.fixture
def audio() -> Audio:
    return Audio.from_samples(np.zeros(1600, dtype=np.float32), 16000)


@pytest.fixture
def ctx(isolated_dirs, plugin_manager) -> RunContext:
    return RunContext(load_settings(), pm=plugin_manager, debug=True)


def test_backend_and_formatter_text_is_cleaned_before_sinks_and_history(ctx, audio, capsys, fake_plugin):
    sink = Recorder(ctx)
    final = run(audio, Plan([HostileBackend(ctx)], [HostileFormatter(ctx)], [sink]), ctx)
    assert sink.got == ["tab\there escred bsx crend ok"]
    assert final.text == sink.got[0]
    assert ("transcript", "tab\there escred bsx crend") in fake_plugin.events  # what history records
    assert ("partial", "partial") in fake_plugin.events
    err = capsys.readouterr().err
    assert "dropped from the transcript of backend 'hostile' (never typed): 2 escape sequences, 1 BS, 1 CR, 1 NUL" in err
    assert "dropped from the text of formatter 'hostile-llm' (never typed): 1 escape sequence, 1 ETX" in err


def test_a_formatter_returning_no_text_is_skipped_with_a_warning(ctx, audio, capsys):
    sink = Recorder(ctx)
    run(audio, Plan([HostileBackend(ctx)], [NoneFormatter(ctx)], [sink]), ctx)
    assert sink.got == ["tab\there escred bsx crend"]
    assert "formatter 'none-formatter'" in capsys.readouterr().err


def test_a_backend_returning_no_text_fails_cleanly(ctx, audio):
    from voice_transcriber import BackendError

    with pytest.raises(BackendError, match="not text but NoneType"):
        run(audio, Plan([NotTextBackend(ctx)], [], [Recorder(ctx)]), ctx)


def test_deliver_cleans_text_that_skipped_the_pipeline(ctx):
    """``history redeliver`` hands a stored transcript straight to the sinks."""
    sink = Recorder(ctx)
    deliver(Transcript(text="stored\x1b[31m\x00 text", backend="history"), [sink], ctx)
    assert sink.got == ["stored text"]
    with pytest.raises(SinkError, match="not text"):
        deliver(Transcript(text=b"bytes", backend="history"), [sink], ctx)  # type: ignore[arg-type]
