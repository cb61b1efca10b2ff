"""The ``openai`` backend: OpenAI's transcription API, or any server that speaks it.

``transcription.openai.{apiKey, model, baseUrl, …}``; ``OPENAI_API_KEY`` overrides the
key. Uploads over OpenAI's 25 MB limit are split at pauses and the texts joined.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import Field

from voice_transcriber import BackendError, Check, ConfigModel, HttpUrl, hookimpl
from voice_transcriber.http import HttpOptions, RetryPolicy, error_code, error_message, send

from .http_backend import HttpBackend, HttpBackendConfig
from .languages import WHISPER_LANGUAGES

OPENAI_URL = "https://api.openai.com/v1"
#: OpenAI rejects uploads over 25 MiB (HTTP 413).
OPENAI_MAX_UPLOAD = 26_214_400
_KEY_FIX = "set OPENAI_API_KEY, or transcription.openai.apiKey in the config"


class OpenAIEndpoint(ConfigModel):
    api_key: str | None = Field(None, description='API key (or set OPENAI_API_KEY); "none" or null sends no Authorization header.')
    model: str = Field("whisper-1", description="whisper-1, gpt-4o-transcribe, gpt-4o-mini-transcribe, … (streaming needs a gpt-4o model).")
    base_url: HttpUrl = Field(OPENAI_URL, description="API base URL; point it at any OpenAI-compatible server (vLLM, LocalAI, Speaches …).")


class OpenAIConfig(HttpOptions, HttpBackendConfig, OpenAIEndpoint):
    max_upload_bytes: int | None = Field(OPENAI_MAX_UPLOAD - 64 * 1024, gt=0, description="Longer audio is split at pauses into uploads under this size (OpenAI's limit is 25 MB).")


class OpenAIBackend(HttpBackend):
    name = "openai"
    description = "OpenAI transcription API (whisper-1, gpt-4o-transcribe) or any OpenAI-compatible server."
    config_section = "transcription.openai"
    config_model = OpenAIConfig
    config_env = {"OPENAI_API_KEY": "apiKey"}
    url_key = "baseUrl"

    @property
    def base_url(self) -> str:
        return self.config.base_url.rstrip("/")

    @property
    def needs_key(self) -> bool:
        return self.base_url.startswith(OPENAI_URL) and not _has_key(self.config.api_key)

    def languages(self) -> dict[str, str] | None:
        """OpenAI's models know Whisper's languages; another server's model may know others."""
        return WHISPER_LANGUAGES if self.config.model.startswith(("whisper", "gpt-4o", "gpt-transcribe")) else None

    def verbose_json_supported(self) -> bool:
        return not self.config.model.startswith(("gpt-4o", "gpt-transcribe"))  # json only, per the API reference

    def before_upload(self) -> None:
        if self.needs_key:
            raise BackendError(f"openai ({self.base_url}): no API key — fix: {_KEY_FIX}")

    def status_fixes(self, status: int) -> str | None:
        return {
            401: _KEY_FIX + " (a valid key starts with sk-)",
            403: "your key or region has no access to this model; check the key's project",
            404: f"check transcription.openai.model ({self.config.model!r}; e.g. whisper-1, gpt-4o-transcribe) "
                 "and transcription.openai.baseUrl",
            413: "lower transcription.openai.maxUploadBytes, or set uploadFormat to \"opus\"",
            400: "check transcription.openai options (responseFormat, model); the audio may be unsupported",
            429: "wait and retry, or check your plan and billing at https://platform.openai.com/account/billing",
        }.get(status)

    def unreachable_fix(self) -> str:
        return f"check your network and transcription.openai.baseUrl ({self.base_url})"

    def checks(self) -> Iterable[Check]:
        if self.needs_key:
            yield Check("openai key", False, "no API key", _KEY_FIX)
            return
        url = f"{self.base_url}/models/{self.config.model}"
        try:
            response = send(self.client, "GET", url, service=self.name, retry=RetryPolicy(max_retries=0),
                            unreachable_fix=self.unreachable_fix())
        except BackendError as exc:
            yield Check("openai server", False, str(exc), self.unreachable_fix())
            return
        if response.status_code in (401, 403):
            yield Check("openai key", False, f"HTTP {response.status_code}: {error_message(response)}", _KEY_FIX)
        elif response.status_code == 404 and error_code(response) == "model_not_found":
            yield Check("openai model", False, f"{self.config.model}: {error_message(response)}", self.status_fixes(404) or "")
        elif response.status_code < 400:
            yield Check("openai server", True, f"{self.base_url} accepts the key; model {self.config.model} is available")
        else:  # OpenAI-compatible servers need not implement GET /models/{id}
            yield Check("openai server", True, f"{self.base_url} answers (GET /models/{self.config.model}: "
                                                f"HTTP {response.status_code}; the model is checked on first use)")


def _has_key(key: str | None) -> bool:
    return bool(key and key.strip() and key.strip().lower() != "none")


@hookimpl
def vt_register_backends(register) -> None:
    register(OpenAIBackend)
