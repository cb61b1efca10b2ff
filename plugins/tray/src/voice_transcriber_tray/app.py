"""``voice-transcriber tray``: the StatusNotifierItem, fed by the daemon's pushed event stream.

One asyncio loop in a small process attached to the warm daemon (:mod:`.link`):

* the daemon pushes every state change of every run (the tray's own dictations, hotkeys'
  and terminals' alike) and the tray redraws at once — no polling, no periodic timer: an
  idle tray sleeps in ``epoll``. What the events say is :mod:`.state`'s, with the one timer,
  one-shot: *delivered* turns back into *idle* after ``tray.deliveredSeconds``;
* a click sends ``toggle`` (with ``--output``/``--backend`` from the menu) to the daemon,
  a middle click ``cancel``;
* the item is registered with ``org.kde.StatusNotifierWatcher`` (:mod:`.host`); when no tray host
  runs, one line says so and the tray waits for ``NameOwnerChanged``; a panel that restarts gets
  the item registered again. The menu's entries are :mod:`.menu`'s.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from typing import TYPE_CHECKING, Any

from . import icons
from .host import TrayHost
from .link import DaemonLink, LinkError
from .menu import (BACKEND, CANCEL, CONFIG, OUTPUT, QUIT, RECENT, RECENT_MENU, SINKS, START, STOP, TITLES, menu_layout,
                   shorten)
from .state import TrayState

if TYPE_CHECKING:
    from voice_transcriber import Settings

    from .settings import TrayConfig


def say(line: str) -> None:
    print(f"voice-transcriber tray: {line}", file=sys.stderr, flush=True)


class Tray:
    def __init__(self, config: TrayConfig, config_file: str | None, settings: Settings, backends: list[str],
                 debug: bool = False) -> None:
        self.config, self.config_file, self.debug = config, config_file, debug
        self.configured_backends = settings.transcription.chain()
        self.backends = backends
        self.output = config.output
        self.backend: str | None = config.backend
        self.link = DaemonLink(config_file, config.start_daemon)
        self.state = TrayState(config.delivered_seconds, self.refresh)
        self.name = f"org.kde.StatusNotifierItem-{os.getpid()}-1"
        self.bus: Any = None
        self.item: Any = None
        self.host: TrayHost | None = None
        self.menu: Any = None
        self.connected = False
        self.quitting: asyncio.Future[int] | None = None
        self._stream: asyncio.Task | None = None
        self._tasks: set[asyncio.Task] = set()

    # --- life -----------------------------------------------------------------------------------

    async def main(self) -> int:
        from dbus_fast.aio import MessageBus

        from .sni import ITEM_PATH, MENU_PATH, DBusMenu, StatusNotifierItem

        loop = asyncio.get_running_loop()
        self.quitting = loop.create_future()
        try:
            self.bus = await MessageBus().connect()
        except Exception as exc:  # noqa: BLE001 - dbus-fast raises several kinds for "no bus"
            say(f"error: no D-Bus session bus ({type(exc).__name__}: {exc}); the tray needs a desktop session "
                "(is DBUS_SESSION_BUS_ADDRESS set?)")
            return 1
        try:
            await self._attach()
        except LinkError as exc:
            say(f"error: {exc}")
            self.bus.disconnect()
            return 1
        self.state.seed_recent()
        self.item = StatusNotifierItem(self.activate, self.secondary_activate)
        self.menu = DBusMenu(self.menu_clicked)
        self.refresh()
        self.bus.export(ITEM_PATH, self.item)
        self.bus.export(MENU_PATH, self.menu)
        from dbus_fast import RequestNameReply

        if await self.bus.request_name(self.name) != RequestNameReply.PRIMARY_OWNER:
            say(f"error: could not own the bus name {self.name}")
            return 1
        self.host = TrayHost(self.bus, self.name, self._spawn, say)
        await self.host.watch()
        await self.host.register()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.quit)
        code = await self.quitting
        await self._shut_down()
        return code

    async def _attach(self) -> None:
        reader, writer, hello = await self.link.subscribe()
        self.connected = True
        if hello.get("recording"):
            self.state.active[hello["recording"]] = "recording"
        self.state.run_backend = (hello.get("backends") or [None])[0]
        self._stream = asyncio.create_task(self._follow(reader, writer))

    async def _follow(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async for event in self.link.events(reader):
                if self.debug:
                    say(f"event: {event}")
                self.state.on_event(event)
        except (OSError, ValueError) as exc:
            say(f"lost the daemon's event stream: {exc}")
        finally:
            writer.close()
        if self.quitting is not None and not self.quitting.done():
            self.connected = False
            self.state.active.clear()
            self.state.error = "the voice-transcriber daemon stopped; click to start it again"
            say(self.state.error)
            self.refresh()

    def quit(self) -> None:
        if self.quitting is not None and not self.quitting.done():
            self.quitting.set_result(0)

    async def _shut_down(self) -> None:
        from dbus_fast import Message

        try:
            await self.bus.release_name(self.name)
        except Exception:  # noqa: BLE001 - the bus may be gone already
            pass
        if self._stream is not None:
            self._stream.cancel()
        await self.link.stop_started_daemon()
        del Message
        self.bus.disconnect()

    # --- what the host shows -----------------------------------------------------------------------

    def refresh(self) -> None:
        if self.item is None:
            return
        shown = self.state
        state = shown.shown_state()
        lines = []
        if state == "error" and shown.error:
            lines.append(f"Failed: {shown.error}")
        if state in ("recording", "transcribing") and shown.partial:
            lines.append(f"“{shorten(shown.partial, 80)}”")
        lines.append(f"Backend: {self.backend or shown.run_backend or ', '.join(self.configured_backends)}"
                     f" · output: {self.output}")
        if shown.recent:
            lines.append(f"Last: {shorten(shown.recent[0][1])}")
        self.item.show(status="NeedsAttention" if state == "recording" else "Active",
                       icon_name=icons.THEMED[state] if self.config.theme_icons else "",
                       pixmap=icons.pixmaps(state), tooltip_title=f"voice-transcriber — {TITLES[state]}",
                       tooltip_body="\n".join(lines))
        self.menu.update(menu_layout(recording="recording" in shown.active.values(), output=self.output,
                                     backend=self.backend, configured_backends=self.configured_backends,
                                     backends=self.backends, recent=shown.recent))

    # --- clicks -------------------------------------------------------------------------------------

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def activate(self) -> None:
        self._spawn(self.toggle())

    def secondary_activate(self) -> None:
        self._spawn(self.cancel())

    async def toggle(self, command: str = "toggle") -> None:
        """``toggle`` (a click), or ``start``/``stop`` (the menu entries); the daemon started if need be."""
        self.state.error = None
        self.refresh()
        if not self.connected:
            try:
                await self._attach()
            except LinkError as exc:
                self._failed(str(exc))
                return
        args = ["--output", self.output, *(["--backend", self.backend] if self.backend else [])]
        code, lines = await self.link.command(command, args if command != "stop" else [])
        if code not in (0, 130):
            self._failed(_reason(lines))

    async def cancel(self) -> None:
        self.state.error = None
        self.refresh()
        await self.link.command("cancel")  # "no recording is running" is fine for a middle click

    def _failed(self, reason: str) -> None:
        self.state.error = reason
        say(reason)
        self.refresh()

    def menu_clicked(self, item_id: int) -> None:
        if item_id == START:
            self._spawn(self.toggle("start"))
        elif item_id == STOP:
            self._spawn(self.toggle("stop"))
        elif item_id == CANCEL:
            self.secondary_activate()
        elif OUTPUT < item_id <= OUTPUT + len(SINKS):
            self.output = SINKS[item_id - OUTPUT - 1][0]
            self.refresh()
        elif BACKEND < item_id < BACKEND + 10:
            choices = [None, *self.backends]
            if item_id - BACKEND - 1 < len(choices):
                self.backend = choices[item_id - BACKEND - 1]
                self.refresh()
        elif RECENT_MENU < item_id <= RECENT_MENU + RECENT:
            index = item_id - RECENT_MENU - 1
            if index < len(self.state.recent):
                self._spawn(self._to_clipboard(*self.state.recent[index]))
        elif item_id == CONFIG:
            self._spawn(self._open_config())
        elif item_id == QUIT:
            self.quit()

    async def _cli(self, *args: str) -> tuple[int, str]:
        argv = [sys.executable, "-m", "voice_transcriber", *(["--config", self.config_file] if self.config_file else []),
                *args]
        process = await asyncio.create_subprocess_exec(*argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                                       stderr=subprocess.STDOUT)
        out, _ = await process.communicate()
        return process.returncode or 0, out.decode(errors="replace")

    async def _to_clipboard(self, run: str, text: str) -> None:
        code, out = await self._cli("history", "show", run, "--output", "clipboard")
        if code != 0:
            self._failed(_reason(out.splitlines()) or f"could not put the transcript of {run} on the clipboard")

    async def _open_config(self) -> None:
        from voice_transcriber.paths import config_path

        path = config_path(self.config_file)
        if not path.exists():
            await self._cli("config", "init")
        try:
            process = await asyncio.create_subprocess_exec("xdg-open", str(path), stdin=subprocess.DEVNULL,
                                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except FileNotFoundError:
            self._failed(f"xdg-open is not installed (install xdg-utils); the configuration is {path}")
            return
        await process.wait()


def _reason(lines: list[str]) -> str:
    errors = [line.removeprefix("voice-transcriber: error: ").removeprefix("voice-transcriber: ") for line in lines
              if line.startswith("voice-transcriber:")]
    return errors[-1] if errors else (lines[-1] if lines else "")


def run(config: TrayConfig, config_file: str | None, settings: Settings, backends: list[str], debug: bool = False) -> int:
    try:
        return asyncio.run(Tray(config, config_file, settings, backends, debug).main())
    except KeyboardInterrupt:
        return 0
