"""The XDG autostart entry: ``$XDG_CONFIG_HOME/autostart/voice-transcriber-tray.desktop``.

Desktop sessions that follow the XDG Autostart spec (KDE, GNOME, Xfce, LXQt, and
``dex``/``systemd-xdg-autostart-generator`` elsewhere) start the tray at login.
"""

from __future__ import annotations

import shlex
import shutil
import sys
from pathlib import Path

NAME = "voice-transcriber-tray.desktop"


def path() -> Path:
    from xdg_base_dirs import xdg_config_home

    return xdg_config_home() / "autostart" / NAME


def executable() -> str:
    """This installation's ``voice-transcriber`` (beside the interpreter, else on $PATH)."""
    beside = Path(sys.executable).with_name("voice-transcriber")
    return str(beside) if beside.exists() else shutil.which("voice-transcriber") or "voice-transcriber"


def entry(config_file: str | None) -> str:
    argv = [executable(), *(["--config", str(Path(config_file).resolve())] if config_file else []), "tray"]
    exec_line = " ".join(shlex.quote(arg).replace("%", "%%") for arg in argv)
    return ("[Desktop Entry]\n"
            "Type=Application\n"
            "Name=voice-transcriber tray\n"
            "Comment=Click to dictate: voice input for Linux\n"
            f"Exec={exec_line}\n"
            "Icon=audio-input-microphone\n"
            "Terminal=false\n"
            "Categories=Utility;Accessibility;\n"
            "X-GNOME-Autostart-enabled=true\n")


def install(config_file: str | None) -> Path:
    from voice_transcriber import VoiceTranscriberError

    target = path()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{NAME}.tmp")
        tmp.write_text(entry(config_file), encoding="utf-8")
        tmp.replace(target)
    except OSError as exc:
        raise VoiceTranscriberError(f"cannot write {target}: {exc.strerror or exc} (check the permissions of "
                                    f"{target.parent})") from None
    return target


def remove() -> Path | None:
    target = path()
    if not target.exists():
        return None
    target.unlink()
    return target
