"""What the local backend tells without loading its model: the languages the configured model knows (from
its name, or its vocabulary on disk) and ``doctor``'s checks of faster-whisper, the model and the device."""

from __future__ import annotations

from typing import TYPE_CHECKING

from voice_transcriber import BackendError, Check

from . import local_head_start, local_models
from .languages import WHISPER_LANGUAGES, whisper_languages
from .local_loading import INSTALL_FIX, runtime
from .local_models import hub_offline

if TYPE_CHECKING:
    from .local_config import LocalConfig


def model_languages(config: LocalConfig, language: str | None) -> dict[str, str]:
    """From the model's name (``*.en`` are English-only); a model not on disk yet: the one ``auto`` would fetch
    for ``language``."""
    try:
        found, name = local_models.locate(config.model, language, config.models_dir())
    except BackendError:
        return WHISPER_LANGUAGES  # a broken model directory is reported when it loads
    if found is None:
        return whisper_languages(name)
    return whisper_languages(found.name, found.path)


def doctor_checks(config: LocalConfig, language: str | None) -> list[Check]:
    """faster-whisper is installed, the model is on disk (or may be downloaded), and where it would run."""
    try:
        local_head_start.import_faster_whisper()
    except ImportError:
        return [Check("local faster-whisper", False, "not installed", INSTALL_FIX)]
    return [_model_check(config, language), Check("local device", True, "{}, compute type {}, {} CPU threads".format(*runtime(config)))]


def _model_check(config: LocalConfig, language: str | None) -> Check:
    try:
        found, name = local_models.locate(config.model, language, config.models_dir())
        if found is not None:
            local_models.check_directory(found.path)
    except BackendError as exc:
        return Check("local model", False, str(exc), "`voice-transcriber models list` shows the models on this machine")
    if found is not None:
        return Check("local model", True, f"{found.name} ({found.origin}) at {found.path}")
    pull = f"`voice-transcriber models pull {name}`"
    if config.allow_download and not hub_offline():
        return Check("local model", True, f"{name} is not downloaded yet; the first run downloads it (or run {pull} now)")
    problem = local_models.unavailable(name, language, config.models_dir(),
                                       local_models.OFFLINE_BY_ENV if hub_offline() else local_models.OFFLINE_BY_CONFIG)
    return Check("local model", False, problem.cause, problem.fix)
