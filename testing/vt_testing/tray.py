"""A real StatusNotifierItem host: xfce4-panel with its systray plugin, under Xvfb, on a private session bus.

xfce4-panel reads its layout from xfconf; ``xfconfd`` is D-Bus-activated by the private bus
and reads ``$XDG_CONFIG_HOME/xfce4/xfconf/xfce-perchannel-xml/xfce4-panel.xml`` — so the bus
is started with an isolated ``XDG_CONFIG_HOME`` holding a one-panel, one-plugin
(``plugin-ids`` = [1], ``plugin-1`` = ``systray``) channel. The systray plugin owns
``org.kde.StatusNotifierWatcher`` and draws the registered items.

Xvfb keeps its framebuffer in an XWD file (``-fbdir``): :meth:`TrayHost.screenshot` turns
it into a PNG without ImageMagick. Items are read and driven with ``gdbus`` (``busctl`` needs systemd).
"""

from __future__ import annotations

import os
import re
import struct
import subprocess
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from vt_testing.dbus import Bus, name_owner, run_client, start_bus
from vt_testing.desktop import require, stop, wait_until
from vt_testing.x11 import free_display

WATCHER = "org.kde.StatusNotifierWatcher"
ITEM = "org.kde.StatusNotifierItem"

PANEL_XML = """<?xml version="1.0" encoding="UTF-8"?>
<channel name="xfce4-panel" version="1.0">
  <property name="configver" type="int" value="2"/>
  <property name="panels" type="array">
    <value type="int" value="1"/>
    <property name="panel-1" type="empty">
      <property name="position" type="string" value="p=6;x=0;y=0"/>
      <property name="length" type="uint" value="100"/>
      <property name="position-locked" type="bool" value="true"/>
      <property name="size" type="uint" value="32"/>
      <property name="icon-size" type="uint" value="24"/>
      <property name="plugin-ids" type="array">
        <value type="int" value="1"/>
      </property>
    </property>
  </property>
  <property name="plugins" type="empty">
    <property name="plugin-1" type="string" value="systray">
      <property name="square-icons" type="bool" value="false"/>
      <property name="icon-size" type="int" value="24"/>
    </property>
  </property>
</channel>
"""


@dataclass
class TrayHost:
    root: Path
    display: str
    address: str
    xvfb: subprocess.Popen
    bus: Bus
    panel: subprocess.Popen | None = None
    env: dict[str, str] = field(default_factory=dict)

    @property
    def client_env(self) -> dict[str, str]:
        """What a process needs to reach this desktop (its bus and display)."""
        return {"DBUS_SESSION_BUS_ADDRESS": self.address, "DISPLAY": self.display, "NO_AT_BRIDGE": "1"}

    def start_panel(self) -> None:
        with (self.root / "panel.log").open("ab") as log:
            self.panel = subprocess.Popen(["xfce4-panel", "--disable-wm-check"], env=self.env, stdout=log, stderr=log,
                                          stdin=subprocess.DEVNULL)
        wait_until(lambda: self.owner(WATCHER), 20, "xfce4-panel owning the StatusNotifierWatcher")

    def stop_panel(self) -> None:
        if self.panel is not None:
            stop(self.panel)
            self.panel = None
        wait_until(lambda: not self.owner(WATCHER), 10, "the watcher gone with the panel")

    def run(self, *argv: str, check: bool = False) -> str:
        return run_client(self.client_env, *argv, check=check, timeout=20)

    def owner(self, name: str) -> str:
        return name_owner(self.client_env, name)

    def registered_items(self) -> list[str]:
        reply = self.run("gdbus", "call", "--session", "--dest", WATCHER, "--object-path", "/StatusNotifierWatcher",
                         "--method", "org.freedesktop.DBus.Properties.Get", WATCHER, "RegisteredStatusNotifierItems")
        return re.findall(r"'([^']+)'", reply)

    def item_names(self) -> list[str]:
        reply = self.run("gdbus", "call", "--session", "--dest", "org.freedesktop.DBus", "--object-path",
                         "/org/freedesktop/DBus", "--method", "org.freedesktop.DBus.ListNames")
        return re.findall(r"'(org\.kde\.StatusNotifierItem-\d+-\d+)'", reply)

    def prop(self, name: str, prop: str, interface: str = ITEM, path: str = "/StatusNotifierItem") -> str:
        """The property as ``gdbus`` prints it, e.g. ``(<'Active'>,)``."""
        return self.run("gdbus", "call", "--session", "--dest", name, "--object-path", path, "--method",
                        "org.freedesktop.DBus.Properties.Get", interface, prop).strip()

    def call(self, name: str, method: str, *args: str, path: str = "/StatusNotifierItem") -> str:
        return self.run("gdbus", "call", "--session", "--dest", name, "--object-path", path, "--method", method, "--",
                        *args, check=True)

    def monitor(self, name: str, log: Path) -> subprocess.Popen:
        """``gdbus monitor`` on ``name``: every signal it emits, one line each."""
        out = log.open("wb")
        return subprocess.Popen(["gdbus", "monitor", "--session", "--dest", name], env={**os.environ, **self.client_env},
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def screenshot(self) -> tuple[int, int, bytes]:
        """The screen as (width, height, RGB bytes), read from Xvfb's XWD framebuffer file."""
        data = (self.root / "fb" / "Xvfb_screen0").read_bytes()
        header = struct.unpack(">25I", data[:100])
        header_size, width, height, bits, line = header[0], header[4], header[5], header[11], header[12]
        ncolors = header[19]
        start = header_size + ncolors * 12
        assert bits == 32, f"unexpected XWD depth {bits}"
        rgb = bytearray()
        for row in range(height):
            pixels = data[start + row * line: start + row * line + width * 4]
            for i in range(0, len(pixels), 4):
                rgb += bytes((pixels[i + 2], pixels[i + 1], pixels[i]))  # BGRX, little-endian
        return width, height, bytes(rgb)

    def save_png(self, path: Path, box: tuple[int, int, int, int] | None = None) -> Path:
        width, height, rgb = self.screenshot()
        x0, y0, x1, y1 = box or (0, 0, width, height)
        rows = b"".join(b"\0" + rgb[(y * width + x0) * 3:(y * width + x1) * 3] for y in range(y0, y1))

        def chunk(kind: bytes, body: bytes) -> bytes:
            return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

        path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", x1 - x0, y1 - y0, 8, 2, 0, 0, 0))
                         + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))
        return path

    def count_colour(self, rgb: tuple[int, int, int], tolerance: int = 40) -> int:
        """Pixels on screen close to ``rgb`` (the panel draws the item's pixmap, scaled)."""
        _, _, data = self.screenshot()
        r0, g0, b0 = rgb
        return sum(1 for i in range(0, len(data), 3)
                   if abs(data[i] - r0) + abs(data[i + 1] - g0) + abs(data[i + 2] - b0) <= tolerance)

    def close(self) -> None:
        if self.panel is not None:
            stop(self.panel)
        stop(self.bus.proc)
        stop(self.xvfb)


def start_tray_host(root: Path, with_panel: bool = True) -> TrayHost:
    require("xfce4-panel", "Xvfb", "dbus-daemon", "gdbus")
    root.mkdir(parents=True, exist_ok=True)
    config = root / "config"
    channel = config / "xfce4" / "xfconf" / "xfce-perchannel-xml"
    channel.mkdir(parents=True, exist_ok=True)
    (channel / "xfce4-panel.xml").write_text(PANEL_XML)
    (root / "fb").mkdir(exist_ok=True)
    runtime = root / "run"
    runtime.mkdir(mode=0o700, exist_ok=True)
    display = f":{free_display()}"
    xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", "480x64x24", "-nolisten", "tcp", "-fbdir", str(root / "fb")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    wait_until(lambda: (root / "fb" / "Xvfb_screen0").exists() and
               os.path.exists(f"/tmp/.X11-unix/X{display[1:]}"), 10, "Xvfb")
    # The bus's environment is what it gives the services it activates (xfconfd): isolated XDG dirs.
    env = {**os.environ, "XDG_CONFIG_HOME": str(config), "XDG_CACHE_HOME": str(root / "cache"),
           "XDG_DATA_HOME": str(root / "data"), "XDG_RUNTIME_DIR": str(runtime), "DISPLAY": display, "NO_AT_BRIDGE": "1",
           "GTK_A11Y": "none"}
    bus = start_bus(root / "dbus.log", env)
    env["DBUS_SESSION_BUS_ADDRESS"] = bus.address
    host = TrayHost(root, display, bus.address, xvfb, bus, env=env)
    if with_panel:
        host.start_panel()
    return host
