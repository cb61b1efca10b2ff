"""The ``speaches`` backend: a self-hosted Speaches server (faster-whisper behind an OpenAI-style API).

``transcription.speaches.{url, apiKey, model, …}`` as in the original tool. Before the
first upload the model is made available: ``POST /v1/models/{id}`` downloads it when it is
missing ("already exists" is fine), ``POST /api/ps/{id}`` loads it ("already loaded" is fine).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from pydantic import Field

from voice_transcriber import BackendError, Check, ConfigModel, HttpUrl, hookimpl
from voice_transcriber.http import HttpOptions, RetryPolicy, check_response, error_message, send

from .http_backend import HttpBackend, HttpBackendConfig
from .languages import whisper_languages
from .prompts import hotwords

_KEY_FIX = "set transcription.speaches.apiKey to the server's API_KEY (\"none\" when it has none)"


class SpeachesEndpoint(ConfigModel):
    url: HttpUrl = Field("http://localhost:8000/v1", description="Base URL of the Speaches API, including /v1.")
    api_key: str | None = Field("none", description='The server\'s API_KEY; "none" sends no Authorization header.')
    model: str = Field("Systran/faster-whisper-base", description="Hugging Face id of a faster-whisper model installed on the server.")


class SpeachesConfig(HttpOptions, HttpBackendConfig, SpeachesEndpoint):
    hotwords: str | None = Field(None, description="Speaches only: words to favour, passed to faster-whisper.")
    without_timestamps: bool | None = Field(None, description="Speaches only: false gives finer segments (server default true).")
    auto_download: bool = Field(True, description="Ask the server to download the model when it is not installed (POST /v1/models/{id}).")
    download_timeout: float = Field(900.0, gt=0, description="Seconds to allow the server for that download.")


class SpeachesBackend(HttpBackend):
    name = "speaches"
    description = "A self-hosted Speaches server (faster-whisper over an OpenAI-compatible API)."
    config_section = "transcription.speaches"
    config_model = SpeachesConfig

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self._model_lock = threading.Lock()
        self._model_ready = False

    def languages(self) -> dict[str, str] | None:
        """A faster-whisper model's languages (``*.en``: English only); another kind of model may know others."""
        return whisper_languages(self.config.model) if "whisper" in self.config.model.lower() else None

    def language_fix(self) -> str:
        return f"set transcription.speaches.model to a multilingual model (now {self.config.model!r}), or use a language it knows"

    @property
    def server_root(self) -> str:
        """The server itself (``/health``, ``/api/ps``), i.e. the URL without ``/v1``."""
        return self.base_url.removesuffix("/v1")

    def extra_fields(self) -> dict[str, str]:
        fields = {}
        words = hotwords(self.ctx.settings, self.config.hotwords)
        if words:
            fields["hotwords"] = words
        if self.config.without_timestamps is not None:
            fields["without_timestamps"] = str(self.config.without_timestamps).lower()
        return fields

    def unreachable_fix(self) -> str:
        return f"is Speaches running? try `curl {self.server_root}/health`, or set transcription.speaches.url"

    def status_fixes(self, status: int) -> str | None:
        if status == 404:
            return self.model_fix()
        return {
            401: _KEY_FIX,
            403: _KEY_FIX,
            413: "set transcription.speaches.maxUploadBytes (e.g. 20000000) so long audio is split at pauses into "
                 "uploads the server accepts, or uploadFormat \"opus\" (a fifth of FLAC's size)",
            415: "the server could not decode the upload; try uploadFormat \"flac\"",
            422: "check transcription.speaches options (responseFormat, hotwords, withoutTimestamps)",
            500: "check the server's log (Speaches answers 500 for long audio without any speech)",
        }.get(status)

    def model_fix(self) -> str:
        """How to install the model, and which models the server has (asked only after a failure)."""
        install = f"install it with `curl -X POST {self.base_url}/models/{self.config.model}`"
        if not self.base_url.endswith("/v1"):  # the usual slip: http://host:8000 without /v1
            return f"transcription.speaches.url should end with /v1 (it is {self.base_url}); else {install}"
        return f"{install}, or set transcription.speaches.model to an installed one ({self.installed_models()})"

    def installed_models(self) -> str:
        try:
            response = self.client.get(f"{self.base_url}/models", params={"task": "automatic-speech-recognition"})
            models = [m["id"] for m in response.json()["data"] if isinstance(m, dict) and isinstance(m.get("id"), str)
                      and m.get("task", "automatic-speech-recognition") == "automatic-speech-recognition"]
        except Exception:  # a best-effort hint inside an error message: never fail here
            return "could not list them"
        return "installed: " + (", ".join(models) or "none")

    #: prepare() checks that the model is on the server and loads it there: that can take seconds.
    prepare_while_recording = True

    def prepare(self) -> None:
        super().prepare()
        self.before_upload()

    def before_upload(self) -> None:
        """Make sure the model is on the server and loaded, once per run (thread-safe)."""
        with self._model_lock:
            if not self._model_ready:
                self._ensure_installed()
                self._load()
                self._model_ready = True

    def _ensure_installed(self) -> None:
        url = f"{self.base_url}/models/{self.config.model}"
        method = "POST" if self.config.auto_download else "GET"
        response = send(self.client, method, url, service=self.name, retry=self.config.retry_policy(),
                        unreachable_fix=self.unreachable_fix(), log=self.ctx.log,
                        timeout=self.config.timeouts().for_work(self.config.download_timeout))
        if response.status_code < 400:
            self.ctx.log(f"speaches: model {self.config.model}: {error_message(response)}")
            return
        if response.status_code == 405 or (response.status_code == 404 and error_message(response) == "Not Found"):
            self.ctx.log(f"speaches: {url} has no such route (an older server?); the transcription will tell")
            return
        if response.status_code == 401 and method == "POST":
            raise BackendError(f"speaches ({url}): the model {self.config.model} is gated on Hugging Face — "
                               "fix: set HF_TOKEN on the server, or choose another model")
        fixes = {404: self.model_fix(), 500: f"the server could not download it; {self.model_fix()}"}
        check_response(response, service=self.name, fixes={**fixes, 403: _KEY_FIX})

    def _load(self) -> None:
        url = f"{self.server_root}/api/ps/{self.config.model}"
        response = send(self.client, "POST", url, service=self.name, retry=self.config.retry_policy(), expect=(409,),
                        unreachable_fix=self.unreachable_fix(), log=self.ctx.log,
                        timeout=self.config.timeouts().for_work(60))
        # 201 loaded, 409 already loaded; anything else (an older server without /api/ps) is
        # not fatal: Speaches loads a model on the first transcription anyway.
        self.ctx.log(f"speaches: load {self.config.model}: HTTP {response.status_code} {error_message(response)}")

    def checks(self) -> Iterable[Check]:
        once = RetryPolicy(max_retries=0)
        try:
            health = send(self.client, "GET", f"{self.server_root}/health", service=self.name, retry=once,
                          unreachable_fix=self.unreachable_fix())
            check_response(health, service=self.name, fixes={403: _KEY_FIX})
        except BackendError as exc:
            yield Check("speaches server", False, str(exc).split(" — fix: ")[0], self.unreachable_fix())
            return
        yield Check("speaches server", True, f"{self.server_root} is up")
        try:
            model = send(self.client, "GET", f"{self.base_url}/models/{self.config.model}", service=self.name, retry=once)
        except BackendError as exc:
            yield Check("speaches model", False, str(exc).split(" — fix: ")[0], self.unreachable_fix())
            return
        if model.status_code == 200:
            yield Check("speaches model", True, f"{self.config.model} is installed")
        elif model.status_code in (401, 403):
            yield Check("speaches key", False, f"HTTP {model.status_code}: {error_message(model)}", _KEY_FIX)
        else:
            yield Check("speaches model", False, f"{self.config.model}: HTTP {model.status_code}: {error_message(model)}",
                        self.model_fix())


@hookimpl
def vt_register_backends(register) -> None:
    register(SpeachesBackend)
