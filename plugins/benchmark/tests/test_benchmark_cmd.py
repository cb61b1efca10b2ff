"""``voice-transcriber benchmark`` and ``benchmarkMode`` on jfk.flac: the real local backend (tiny.en)
beside the openai backend talking to the replica API.

A decode of jfk.flac costs ~0.8 s of CPU: where a test reads only how rows are laid out or that nothing more
runs, the ``fake`` backend (it "hears" JFK's sentence) stands in for the local one; the JSON's comparison,
``benchmarkMode``, the done-when command and a recorded utterance decode for real."""

from __future__ import annotations

import json

import pytest
from vt_testing.core import run_in_process
from vt_testing.openai_api import (
    OPENAI_SERVER_ERROR,
    OPENAI_WRONG_KEY,
    json_reply,
    verbose_segment,
    verbose_transcription,
)
from vt_testing.speech import JFK_TEXT

from voice_transcriber import AudioError, ConfigError, RunContext, UsageError
from voice_transcriber.config import load_settings

pytestmark = pytest.mark.slow
#: What the replica server "heard": one word off JFK's sentence, so the diff has something to show.
SERVER_TEXT = JFK_TEXT.replace("fellow", "follow")


@pytest.fixture
def configured(write_config, tiny_model_dir, openai_api):
    """config.json with the local backend on tiny.en and the openai backend on the replica."""

    def write(**top) -> None:
        write_config({"transcription": {
            "backend": "local", "local": {"model": str(tiny_model_dir)},
            "openai": {"baseUrl": openai_api.url, "apiKey": "sk-test-0123456789abcdef", "maxRetries": 0}}, **top})

    write()
    return write


def reply_with(openai_api, text: str = SERVER_TEXT) -> None:
    openai_api.transcriptions(json_reply(verbose_transcription([verbose_segment(1, 0.0, 11.0, text)])))


def benchmark_json(cli, *args: str) -> dict:
    result = cli("benchmark", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_json_compares_local_and_server_with_times_rtf_upload_and_wer(cli, configured, openai_api, jfk_path):
    reply_with(openai_api)
    data = benchmark_json(cli, str(jfk_path), "--backends", "local,openai", "--reference", JFK_TEXT, "--runs", "2")
    assert set(data) == {"schema", "normalisation", "files"} and data["schema"] == 1
    (clip,) = data["files"]
    assert clip["file"] == str(jfk_path) and clip["audio_seconds"] == pytest.approx(11.0, abs=0.1)
    assert (clip["runs"], clip["reference"], clip["diff_against"]) == (2, JFK_TEXT, "reference")
    local, openai = clip["results"]
    for row in (local, openai):
        assert row["ok"] and row["error"] is None and len(row["runs_seconds"]) == 2
        assert row["first_seconds"] == pytest.approx(row["runs_seconds"][0], abs=1e-4) and row["first_seconds"] > 0
        assert row["median_seconds"] == pytest.approx(row["runs_seconds"][1], abs=1e-4)
        assert row["rtf"] == pytest.approx(row["median_seconds"] / clip["audio_seconds"], rel=0.01, abs=1e-5)
    assert (local["backend"], openai["backend"], openai["model"]) == ("local", "openai", "whisper-1")
    assert local["wer"] <= 0.15 and "Americans" in local["text"] and local["uploaded_bytes"] is None
    assert openai["text"] == SERVER_TEXT and openai["wer"] == pytest.approx(1 / 22, abs=1e-4)  # 1 of 22 words
    assert openai["diff"] == [{"op": "substitute", "ref": "fellow", "hyp": "follow"}]
    uploads = openai_api.requests()
    assert len(uploads) == 2 and openai["uploaded_bytes"] == len(uploads[-1].file_data) > 1000
    (pair,) = clip["similarity"]
    assert (pair["a"], pair["b"]) == ("local model", "openai whisper-1") and 90 <= pair["percent"] <= 100
    assert openai["similarity_percent"] == pair["percent"] and local["similarity_percent"] == 100.0


def test_table_shows_a_row_per_backend_and_the_word_differences(cli, configured, openai_api, jfk_path):
    reply_with(openai_api)  # the layout is what is read: fake beside openai (the local backend's row: the JSON's)
    result = cli("benchmark", str(jfk_path), "--backends", "fake,openai", "--reference", JFK_TEXT, "--runs", "1")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].strip() == f"{jfk_path} (11.0 s of audio, 1 run each)"
    header = next(line for line in lines if "backend" in line).split()
    assert header == ["backend", "model", "first", "median", "RTF", "upload", "WER", "similarity", "text"]
    openai_row = next(line.split() for line in lines if line.strip().startswith("openai"))
    assert openai_row[:2] == ["openai", "whisper-1"] and openai_row[9:11] == ["4.5", "%"]  # WER 1/22
    assert any(line.strip().startswith("fake ") and "Americans" in line for line in lines)
    assert "  openai whisper-1: [fellow]→[follow]" in lines


def test_a_failing_backend_shows_its_error_and_the_others_still_run(cli, configured, openai_api, jfk_path):
    openai_api.transcriptions(json_reply(OPENAI_SERVER_ERROR, 500))
    data = benchmark_json(cli, str(jfk_path), "--backends", "openai,fake", "--runs", "1")
    openai, other = data["files"][0]["results"]
    assert openai["ok"] is False and "500" in openai["error"] and "\n" not in openai["error"]
    assert openai["model"] == "whisper-1"  # as configured
    assert openai["first_seconds"] is None and openai["text"] is None
    assert other["ok"] and other["backend"] == "fake" and "Americans" in other["text"] and other["first_seconds"] is not None
    # The table shows the error in the failing backend's row, beside the fake backend's.
    table = cli("benchmark", str(jfk_path), "--backends", "openai,fake", "--runs", "1").stdout
    assert any(line.split()[:3] == ["openai", "whisper-1", "—"] and "error: openai" in line for line in table.splitlines())
    assert any(line.split()[:1] == ["fake"] and "error" not in line for line in table.splitlines()), table


def test_every_backend_failing_exits_1_with_one_line(configured, openai_api, jfk_path, capsys):
    from voice_transcriber.cli import main

    openai_api.transcriptions(json_reply(OPENAI_WRONG_KEY, 401))
    with pytest.raises(SystemExit) as exit_info:
        main(["benchmark", str(jfk_path), "--backends", "openai", "--runs", "1", "--markdown"])
    captured = capsys.readouterr()
    assert exit_info.value.code == 1
    assert captured.err.count("\n") == 1 and "every backend failed; the first said: openai" in captured.err
    assert "sk-test-0123456789abcdef" not in captured.err + captured.out
    assert "| openai | whisper-1 | — |" in captured.out  # the table is still printed


def test_markdown_table_for_benchmarks_md(cli, configured, openai_api, jfk_path):
    reply_with(openai_api)
    result = cli("benchmark", str(jfk_path), "--backends", "openai", "--markdown", "--runs", "1")
    lines = result.stdout.splitlines()
    assert lines[0] == f"**{jfk_path} (11.0 s of audio, 1 run each)**"
    assert lines[2:4] == ["| backend | model | first | median | RTF | upload | text |", "|---|---|---:|---:|---:|---:|---|"]
    assert lines[4].startswith("| openai | whisper-1 | ") and lines[4].endswith(f"| {SERVER_TEXT} |")


def test_models_run_one_after_the_other_on_the_same_backend(cli, configured, openai_api, jfk_path):
    reply_with(openai_api)
    data = benchmark_json(cli, str(jfk_path), "--backends", "openai", "--models", "whisper-1,gpt-4o-transcribe",
                          "--runs", "1")
    assert [r["model"] for r in data["files"][0]["results"]] == ["whisper-1", "gpt-4o-transcribe"]
    assert [r.fields["model"] for r in openai_api.requests()] == ["whisper-1", "gpt-4o-transcribe"]


def test_benchmark_mode_delivers_the_first_backends_text_then_compares(cli, configured, openai_api, jfk_path):
    configured(benchmarkMode=True)
    reply_with(openai_api)
    result = cli("--input", str(jfk_path), "--output", "stdout", "--no-format")
    assert result.exit_code == 0, result.output
    assert "Americans" in result.stdout and "follow" not in result.stdout  # the local backend's text only
    lines = result.stderr.splitlines()
    rows = [line.split()[:2] for line in lines if line.strip().startswith(("local ", "openai ")) and " s " in line]
    assert rows == [["local", "model"], ["openai", "whisper-1"]]
    assert "Word differences against local model:" in lines
    assert "  openai whisper-1: [fellow]→[follow]" in lines
    assert len(openai_api.requests()) == 1


def test_benchmark_mode_off_runs_nothing_more(cli, configured, openai_api, jfk_path):
    # the fake backend answers (what benchmarkMode on does with the local one is the test above)
    result = cli("--input", str(jfk_path), "--backend", "fake", "--output", "stdout", "--no-format")
    assert "Americans" in result.stdout and "similarity" not in result.stderr
    assert openai_api.requests() == []


def test_bad_options_are_usage_errors_before_any_work(cli, configured, openai_api, jfk_path, tmp_path):
    with pytest.raises(UsageError, match="--json and --markdown"):
        cli("benchmark", str(jfk_path), "--json", "--markdown")
    with pytest.raises(UsageError, match=r"unknown backend 'nope' in --backends or benchmark.backends "
                                         r"\(installed: fake, fake-duration, local, openai, speaches\)"):
        cli("benchmark", str(jfk_path), "--backends", "local,nope")
    with pytest.raises(UsageError, match="once per FILE"):
        cli("benchmark", str(jfk_path), str(jfk_path), str(jfk_path), "-r", "a", "-r", "b")
    (tmp_path / "empty.txt").write_text("...\n")
    with pytest.raises(UsageError, match="no words"):
        cli("benchmark", str(jfk_path), "--reference", str(tmp_path / "empty.txt"))
    (tmp_path / "bad.wav").write_bytes(b"RIFF not really audio")
    with pytest.raises(AudioError, match="cannot decode audio .*bad.wav"):  # all files decode before any backend runs
        cli("benchmark", str(jfk_path), str(tmp_path / "bad.wav"), "--backends", "openai")
    assert openai_api.requests() == []


def test_reference_file_and_default_backends_from_config(cli, configured, openai_api, jfk_path, tmp_path):
    configured(benchmark={"backends": ["openai"]})
    reply_with(openai_api)
    reference = tmp_path / "said.txt"
    reference.write_text(JFK_TEXT + "\n", encoding="utf-8")
    data = benchmark_json(cli, str(jfk_path), "--reference", str(reference), "--runs", "1")
    (row,) = data["files"][0]["results"]
    assert data["files"][0]["reference"] == JFK_TEXT + "\n" and row["wer"] == pytest.approx(1 / 22, abs=1e-4)


def test_run_context_creates_installed_backends_by_name(plugin_manager):
    ctx = RunContext(load_settings(), pm=plugin_manager)
    assert {"local", "openai", "speaches", "fake-duration"} <= set(ctx.backend_names())
    backend = ctx.create_backend("openai")
    assert backend.name == "openai" and backend.ctx is ctx and backend.plugin.startswith("openai (")
    with pytest.raises(ConfigError, match="unknown backend 'nope'"):
        ctx.create_backend("nope")


def test_done_when_command_prints_time_rtf_and_wer(configured):
    from vt_testing.speech import JFK_PATH

    # in this process (what the command prints is the point; a process of its own cost ~1 CPU-s more: imports and
    # a tiny.en load); test_help_does_not_import_the_scoring_or_table_libraries runs the real command line
    result = run_in_process("benchmark", str(JFK_PATH), "--backends", "local", "--models", "tiny.en", "--runs", "1",
                            "--reference", JFK_TEXT)
    out = result.stdout.decode()
    assert result.returncode == 0, result.stderr.decode()
    header = next(line for line in out.splitlines() if "backend" in line).split()
    row = next(line for line in out.splitlines() if line.strip().startswith("local")).split()
    assert header[:7] == ["backend", "model", "first", "median", "RTF", "WER", "text"]
    assert row[:2] == ["local", "tiny.en"] and row[3] == "s" and float(row[6]) > 0 and row[8] == "%"  # RTF: a loaded machine may be slower than real time


def test_help_does_not_import_the_scoring_or_table_libraries():
    import subprocess
    import sys

    code = ("import sys\nfrom voice_transcriber.cli import main\n"
            "for argv in (['--help'], ['benchmark', '--help']):\n"
            "    try:\n        main(argv)\n    except SystemExit:\n        pass\n"
            "print('HEAVY=' + ','.join(m for m in ('rich', 'jiwer', 'rapidfuzz', 'numpy', 'httpx') if m in sys.modules),"
            " file=sys.stderr)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "HEAVY=\n" in result.stderr, result.stderr[-2000:]



def test_without_a_file_one_utterance_is_recorded_then_compared(pulse, tiny_model_dir, isolated_dirs, tmp_path, espeak_wav):
    import signal

    from vt_testing.recorder import RecordingProcess, recordings_of

    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    env = {**pulse.env, "XDG_RUNTIME_DIR": str(runtime), "VOICE_TRANSCRIBER_TRANSCRIPTION__LOCAL__MODEL": str(tiny_model_dir)}
    rec = RecordingProcess("benchmark", "--backends", "local", "--runs", "1", "--json", env=env)
    path = rec.wait_for_file(recordings_of(isolated_dirs))
    rec.speak(pulse, espeak_wav("Please send the report by Friday."))
    rec.signal(signal.SIGUSR1)
    code, out, err = rec.finish()
    assert code == 0, err
    (clip,) = json.loads(out)["files"]
    (local,) = clip["results"]
    assert local["ok"] and "report" in local["text"].lower() and clip["audio_seconds"] > 2
    assert path.with_suffix(".delivered").exists(), "kept like a dictation, and tidied by input.keepRecordings"


def test_default_backends_are_the_chain_and_those_set_up_away_from_defaults(plugin_manager, write_config, monkeypatch):
    from voice_transcriber_benchmark.measure import configured_backends

    def backends(config: dict) -> list[str]:
        write_config(config)
        return configured_backends(RunContext(load_settings(), pm=plugin_manager), None)

    defaults = {"speaches": {"url": "http://localhost:8000/v1", "apiKey": "none"}, "openai": {"apiKey": None}}
    assert backends({"transcription": {"backend": "local", **defaults}}) == ["local"]  # as `config init` writes them
    assert backends({"transcription": {"backend": ["openai", "local"], "speaches": {"url": "http://gpu:8000/v1"}}}) == [
        "openai", "local", "speaches"]
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-0123456789abcdef")
    assert backends({"transcription": {"backend": "local"}}) == ["local", "openai"]
    assert configured_backends(RunContext(load_settings(), pm=plugin_manager), ["speaches", "speaches"]) == ["speaches"]
