"""Which characters the compositor's active keyboard layout types, read from its own keymap.

The portal sends keysyms, and the compositor turns each into a key of the *active* layout: a character
that layout cannot produce is dropped or mistyped, so the typing sink pastes it instead.
"""

from __future__ import annotations

import os
from collections.abc import Mapping


def compositor_keymap(environ: Mapping[str, str] | None = None):
    """The compositor's keymap, compiled; None when it cannot be read.

    GNOME Shell appends the locale's layout to the user's input sources, for mnemonics such
    as Alt+F under a Cyrillic layout; it is never the one typed with, so it is left out."""
    from . import wayland
    from .xkb import Keymap, XkbUnavailable

    env = os.environ if environ is None else environ
    found = wayland.probe(keymap=True, environ=env)
    if found is None or not found.keymap:
        return None
    try:
        keymap = Keymap.from_string(found.keymap)
    except XkbUnavailable:
        return None
    if "GNOME" in env.get("XDG_CURRENT_DESKTOP", "").upper().split(":") and len(keymap.layouts) > 1:
        keymap.layouts.pop(keymap.names[-1])
        active = gnome_active_layout(env, len(keymap.layouts)) if len(keymap.layouts) > 1 else None
        if active is not None:  # only the active layout counts: the others' extra characters are pasted
            name = keymap.names[active]
            keymap.layouts = {name: keymap.layouts[name]}
    return keymap


def gnome_active_layout(env: Mapping[str, str], count: int) -> int | None:
    """Which of GNOME's ``count`` input sources is active, as an index into its keymap's layouts
    (they follow ``sources``): the first of ``mru-sources`` — GNOME Shell rewrites that list at
    every switch — that is among ``sources``, else the first source. None when gsettings cannot
    tell, or a source is not a plain xkb layout (an input method), or the counts differ: then
    only the characters every layout shares are typed."""
    import re
    import subprocess

    def read(key: str) -> list[tuple[str, str]] | None:
        try:
            done = subprocess.run(["gsettings", "get", "org.gnome.desktop.input-sources", key], env=dict(env),
                                  capture_output=True, text=True, timeout=5, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.SubprocessError):
            return None
        return re.findall(r"\('([^']*)', '([^']*)'\)", done.stdout) if done.returncode == 0 else None

    sources = read("sources")
    if not sources or len(sources) != count or any(kind != "xkb" for kind, _ in sources):
        return None
    recent = read("mru-sources") or []
    return sources.index(next((source for source in recent if source in sources), sources[0]))
