"""Where voice-transcriber keeps its files, and the private directories that hold them.

* ``$XDG_RUNTIME_DIR/voice-transcriber/`` (:func:`runtime_dir`): the control lock, the
  recorder's PID file, the daemon's socket, the runs' published state;
* ``$XDG_STATE_HOME/voice-transcriber/``: recordings, history, the recorder's log;
* ``$XDG_CONFIG_HOME/voice-transcriber/config.json``: the configuration.

Standard library only: the hotkey path and ``rofi`` use it before anything else is imported.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .errors import ControlError
from .files import private_dir

__all__ = ["CONFIG_ENV", "config_path", "runtime_dir"]

#: The environment variable naming the config file (like ``--config``).
CONFIG_ENV = "VOICE_TRANSCRIBER_CONFIG"


def default_config_path() -> Path:
    from xdg_base_dirs import xdg_config_home

    return xdg_config_home() / "voice-transcriber" / "config.json"


def config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The config file in effect: ``--config``, else ``$VOICE_TRANSCRIBER_CONFIG``, else XDG."""
    if explicit:
        return Path(explicit)
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    return default_config_path()


def runtime_dir() -> Path:
    """``$XDG_RUNTIME_DIR/voice-transcriber`` (0700), or a private temp dir when it is unset."""
    base = os.environ.get("XDG_RUNTIME_DIR")
    if base and os.path.isabs(base):
        path = Path(base) / "voice-transcriber"
    else:
        import tempfile

        path = Path(tempfile.gettempdir()) / f"voice-transcriber-{os.getuid()}"
    try:
        make_private_dir(path)  # refuses a symlink or someone else's directory (/tmp is shared)
    except OSError as exc:
        raise ControlError(f"cannot use the runtime directory {path}: {exc.strerror} "
                           "(check $XDG_RUNTIME_DIR, or remove the directory if it is not yours)") from None
    return path


def make_private_dir(folder: Path) -> None:
    """Create ``folder`` (0700, parents too) and refuse one that is a symlink or belongs to someone else.

    An existing one readable by others is made 0700: recordings and runtime state are private.
    """
    private_dir(folder)
    if stat.S_IMODE(folder.lstat().st_mode) & 0o077:
        folder.chmod(0o700)
