"""``voice-transcriber config path|show|init``."""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

import click

from ..errors import ConfigError
from ..files import UnsafePathError, open_private, private_dir, refuse_symlink
from ..paths import config_path
from .run_cmd import CliState, known_sections

if TYPE_CHECKING:  # pydantic and the config schema load when `show` or `init` runs
    from pydantic import BaseModel

    from ..config import Settings


@click.group("config")
def config_group() -> None:
    """Show, locate or create the configuration file."""


@config_group.command("path")
@click.pass_obj
def path_cmd(state: CliState) -> None:
    """Print the path of the config file in effect (it may not exist yet)."""
    click.echo(str(config_path(state.config_file)))


@config_group.command("show")
@click.pass_obj
def show_cmd(state: CliState) -> None:
    """Print the effective configuration (defaults < file < env), API keys masked."""
    from ..config import dump_settings

    settings = state.settings()
    click.echo(json.dumps(dump_settings(settings, plugin_sections(state, settings)), indent=2, ensure_ascii=False))


@config_group.command("init")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@click.pass_obj
def init_cmd(state: CliState, force: bool) -> None:
    """Write a commented default config file (mode 0600)."""
    target = config_path(state.config_file)
    if target.is_symlink():
        raise ConfigError(str(refuse_symlink(target)))
    if target.exists() and not force:
        raise ConfigError(f"{target} already exists (use --force to overwrite it)")
    from ..config import Settings, dump_settings

    settings = Settings()
    data = dump_settings(settings, plugin_sections(state, settings))
    comments = field_comments(Settings, "")
    for path, cls in component_models(state).items():
        comments.update(field_comments(cls, path))
    try:  # 0700/0600 whatever the umask, never through a symlink: a config file can run commands
        private_dir(target.parent, follow_symlink=True)
        fd = open_private(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    except UnsafePathError as exc:
        raise ConfigError(str(exc)) from None
    except OSError as exc:
        raise ConfigError(f"cannot write {target}: {exc.strerror or exc}") from None
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write("// voice-transcriber configuration (JSON; whole-line // comments are allowed).\n")
        out.write("// Keys of the original voice-transcriber config.json work unchanged.\n")
        out.write(to_commented_json(data, comments, "") + "\n")
    click.echo(str(target))


def component_models(state: CliState) -> dict[str, type[BaseModel]]:
    """Config section path → model, for every registered component that has settings, and plugin sections."""
    return {path: model for path, model in known_sections(state).items() if path != "daemon"}


def plugin_sections(state: CliState, settings: Settings) -> dict[str, BaseModel]:
    return {path: settings.section(path, model) for path, model in component_models(state).items()}


def field_comments(model: type[BaseModel], prefix: str) -> dict[str, str]:
    """Dotted key → the field's description (from ``Field(description=...)``)."""
    from pydantic import BaseModel

    comments = {}
    for name, field in model.model_fields.items():
        key = f"{prefix}.{field.alias or name}".lstrip(".")
        if field.description:
            comments[key] = field.description
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            comments.update(field_comments(field.annotation, key))
    return comments


def to_commented_json(value: Any, comments: dict[str, str], path: str, indent: int = 0) -> str:
    """JSON with a ``// description`` line above each documented key."""
    if not isinstance(value, dict) or not value:
        return json.dumps(value, ensure_ascii=False)
    pad = "  " * (indent + 1)
    lines = []
    for i, (key, item) in enumerate(value.items()):
        dotted = f"{path}.{key}".lstrip(".")
        if dotted in comments:
            lines.append(f"{pad}// {comments[dotted]}")
        comma = "," if i < len(value) - 1 else ""
        lines.append(f"{pad}{json.dumps(key)}: {to_commented_json(item, comments, dotted, indent + 1)}{comma}")
    return "{\n" + "\n".join(lines) + "\n" + "  " * indent + "}"




@config_group.command("reference")
@click.pass_obj
def reference_cmd(state: CliState) -> None:
    """Print every configuration key of the core and the installed plugins (Markdown tables)."""
    from .config_reference import reference_markdown

    click.echo(reference_markdown(known_sections(state)))
