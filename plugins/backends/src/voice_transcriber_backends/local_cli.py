"""``voice-transcriber models list|pull``: the local backend's Whisper models on this machine."""

from __future__ import annotations

import json

import click

from voice_transcriber import BackendError, UsageError

from .local_config import SECTION, LocalConfig


def _local_config(state):
    """The validated ``transcription.local`` section and the global language (``state`` is the CLI's ctx.obj)."""
    settings = state.settings()
    return settings.section(SECTION, LocalConfig), settings.language


def human_size(size: float) -> str:
    """Decimal units, as download pages and `du --si` show them: 78.1 MB."""
    if size < 1000:
        return f"{size:.0f} B"
    for unit in ("kB", "MB", "GB"):
        size /= 1000
        if size < 1000 or unit == "GB":
            break
    return f"{size:.1f} {unit}"


@click.group("models")
def models_group() -> None:
    """Whisper models of the local backend: what is present, and fetching more ahead of time."""


@models_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@click.pass_obj
def list_cmd(state, as_json: bool) -> None:
    """Show the models on this machine with their size; * marks the one transcription.local.model uses."""
    from . import local_models

    config, language = _local_config(state)
    try:
        in_use, _ = local_models.locate(config.model, language, config.models_dir())
    except BackendError:  # an unusable model setting: list what is here anyway
        in_use = None
    rows = [{"name": m.name, "size": local_models.directory_size(m.path), "origin": m.origin, "path": str(m.path),
             "in_use": in_use is not None and m.path == in_use.path}
            for m in local_models.present_models(config.models_dir())]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo(f"no Whisper models here yet (cache: {config.models_dir()}); "
                   "fetch one with `voice-transcriber models pull base.en`")
        return
    for row in rows:
        mark = "*" if row["in_use"] else " "
        click.echo(f"{mark} {row['name']:<28} {human_size(row['size']):>9}  {row['origin']:<32} {row['path']}")
    if in_use is None:
        click.echo(f"  (transcription.local.model \"{config.model}\" is none of these; "
                   "`voice-transcriber doctor` says what to do)")


@models_group.command("pull")
@click.argument("name")
@click.option("--force", is_flag=True, help="Download again even when the model is present (repairs a damaged copy).")
@click.pass_obj
def pull_cmd(state, name: str, force: bool) -> None:
    """Download model NAME (a size such as base.en, or a Hugging Face repo id) into the cache, with a progress bar."""
    from . import local_models

    if name == local_models.AUTO or local_models.is_directory_name(name):
        raise UsageError(f"`models pull` takes a model size or a Hugging Face repo id, not '{name}' "
                         "(e.g. `voice-transcriber models pull base.en`)")
    config, language = _local_config(state)
    present = None if force else local_models.find_present(name, config.models_dir())
    if present is not None:
        click.echo(f"{name} is already here ({present.origin}): {present.path} (--force downloads it again)")
        return
    model = local_models.download(name, config.models_dir(), language=language, force=force)
    click.echo(str(model.path))
