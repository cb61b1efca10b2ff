"""``voice-transcriber tray``: the StatusNotifierItem, fed by the daemon's pushed event stream.

One asyncio loop in a small process attached to the warm daemon (:mod:`.link`):

* the daemon pushes every state change of every run (the tray's own dictations, hotkeys'
  and terminals' alike) and the tray redraws at once — no polling, no periodic timer: an
  idle tray sleeps in ``epoll``. The one timer is one-shot: *delivered* turns back into
  *idle* after ``tray.deliveredSeconds``;
* a click sends ``toggle`` (with ``--output``/``--backend`` from the menu) to the daemon,
  a middle click ``cancel``;
* the item is registered with ``org.kde.StatusNotifierWatcher``; when no tray host runs, one
  line says so and the tray waits for ``NameOwnerChanged``; a panel that restarts gets the
  item registered again.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import deque
from typing import TYPE_CHECKING, Any

from . import icons
from .link import DaemonLink, LinkError

if TYPE_CHECKING:
    from voice_transcriber import Settings

    from .settings import TrayConfig

WATCHER = "org.kde.StatusNotifierWatcher"
DBUS = "org.freedesktop.DBus"
SINKS = (("clipboard", "Clipboard"), ("typing", "Type into the window"), ("auto", "Auto (type, else clipboard)"),
         ("paste", "Paste (clipboard + Ctrl+V)"))
TITLES = {"idle": "Idle — click to dictate", "recording": "Recording… click to stop",
          "transcribing": "Transcribing…", "delivered": "Delivered", "error": "Dictation failed"}
RECENT = 5

# Menu item ids
START, STOP, CANCEL, OUTPUT, BACKEND, RECENT_MENU, CONFIG, QUIT = 1, 4, 2, 10, 20, 30, 41, 42


def say(line: str) -> None:
    print(f"voice-transcriber tray: {line}", file=sys.stderr, flush=True)


def shorten(text: str, width: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


class Tray:
    def __init__(self, config: TrayConfig, config_file: str | None, settings: Settings, backends: list[str],
                 debug: bool = False) -> None:
        self.config, self.config_file, self.debug = config, config_file, debug
        self.configured_backends = settings.transcription.chain()
        self.backends = backends
        self.output = config.output
        self.backend: str | None = config.backend
        self.link = DaemonLink(config_file, config.start_daemon)
        self.active: dict[str | None, str] = {}  # run → recording/transcribing
        self.run_backend: str | None = None
        self.partial = ""
        self.error: str | None = None
        self.delivered = False
        self._delivered_timer: asyncio.TimerHandle | None = None
        self.recent: deque[tuple[str, str]] = deque(maxlen=RECENT)  # (run id, text), newest first
        self.ended: deque[str] = deque(maxlen=64)
        self.name = f"org.kde.StatusNotifierItem-{os.getpid()}-1"
        self.bus: Any = None
        self.item: Any = None
        self.menu: Any = None
        self.connected = False
        self.quitting: asyncio.Future[int] | None = None
        self._stream: asyncio.Task | None = None
        self._waiting_said = False
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
        self._seed_recent()
        self.item = StatusNotifierItem(self.activate, self.secondary_activate)
        self.menu = DBusMenu(self.menu_clicked)
        self.refresh()
        self.bus.export(ITEM_PATH, self.item)
        self.bus.export(MENU_PATH, self.menu)
        from dbus_fast import RequestNameReply

        if await self.bus.request_name(self.name) != RequestNameReply.PRIMARY_OWNER:
            say(f"error: could not own the bus name {self.name}")
            return 1
        await self._watch_watcher()
        await self.register()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.quit)
        code = await self.quitting
        await self._shut_down()
        return code

    async def _attach(self) -> None:
        reader, writer, hello = await self.link.subscribe()
        self.connected = True
        if hello.get("recording"):
            self.active[hello["recording"]] = "recording"
        self.run_backend = (hello.get("backends") or [None])[0]
        self._stream = asyncio.create_task(self._follow(reader, writer))

    async def _follow(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async for event in self.link.events(reader):
                self.on_event(event)
        except (OSError, ValueError) as exc:
            say(f"lost the daemon's event stream: {exc}")
        finally:
            writer.close()
        if self.quitting is not None and not self.quitting.done():
            self.connected = False
            self.active.clear()
            self.error = "the voice-transcriber daemon stopped; click to start it again"
            say(self.error)
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

    # --- the watcher (tray host) ---------------------------------------------------------------------

    async def _watch_watcher(self) -> None:
        from dbus_fast import Message, MessageType

        rule = f"type='signal',sender='{DBUS}',interface='{DBUS}',member='NameOwnerChanged',arg0='{WATCHER}'"
        await self.bus.call(Message(destination=DBUS, path="/org/freedesktop/DBus", interface=DBUS, member="AddMatch",
                                    signature="s", body=[rule]))

        def on_message(message: Any) -> None:
            if message.message_type == MessageType.SIGNAL and message.member == "NameOwnerChanged" \
                    and message.body and message.body[0] == WATCHER and message.body[2]:
                self._spawn(self.register())  # a tray host appeared, or the panel restarted

        self.bus.add_message_handler(on_message)

    async def register(self) -> None:
        from dbus_fast import Message, MessageType

        reply = await self.bus.call(Message(destination=WATCHER, path="/StatusNotifierWatcher", interface=WATCHER,
                                            member="RegisterStatusNotifierItem", signature="s", body=[self.name]))
        if reply.message_type == MessageType.ERROR:
            if not self._waiting_said:
                say("no tray host on the session bus (nothing owns org.kde.StatusNotifierWatcher: start your panel, "
                    "or enable the AppIndicator extension on GNOME); waiting for one")
                self._waiting_said = True
            return
        self._waiting_said = False
        say(f"registered {self.name} with the tray host")

    # --- events pushed by the daemon ----------------------------------------------------------------

    def on_event(self, event: dict[str, Any]) -> None:
        run, kind, state = event.get("run"), event.get("event"), event.get("state")
        if self.debug:
            say(f"event: {event}")
        if run is not None and run in self.ended:
            return  # nothing moves a finished run back (a producer older than this tray might send a late partial)
        if kind in ("delivered", "failed", "cancelled") and run is not None:
            self.ended.append(run)
        if kind == "recording":
            self.error = None  # a new dictation: the last failure is old news
            self.partial = ""
            self._end_delivered()
        if kind == "overflow":
            self.error = event.get("error")
        elif state in ("recording", "transcribing") and (kind in ("recording", "recorded", "transcribing")
                                                          or run in self.active):
            self.active[run] = state
            if event.get("backend"):
                self.run_backend = event["backend"]
            if kind == "partial":
                self.partial = event.get("partial") or ""
        elif kind in ("delivered", "failed", "cancelled"):
            self.active.pop(run, None)
            if kind == "delivered":
                self.partial = ""
                text = event.get("text") or ""
                if run:
                    self.recent = deque([(r, t) for r, t in self.recent if r != run], maxlen=RECENT)
                    self.recent.appendleft((run, text))
                self.delivered = True
                if self._delivered_timer is not None:
                    self._delivered_timer.cancel()
                self._delivered_timer = asyncio.get_running_loop().call_later(self.config.delivered_seconds,
                                                                              self._end_delivered, True)
            elif kind == "failed":
                retry = f"voice-transcriber retry {run}" if event.get("recording") and run else "voice-transcriber retry last"
                self.error = f"{event.get('error') or 'unknown error'} — `{retry}` recovers the audio"
        self.refresh()

    def _end_delivered(self, redraw: bool = False) -> None:
        if self._delivered_timer is not None:
            self._delivered_timer.cancel()
            self._delivered_timer = None
        self.delivered = False
        if redraw:
            self.refresh()

    # --- what the host shows -----------------------------------------------------------------------

    def shown_state(self) -> str:
        states = set(self.active.values())
        if "recording" in states:
            return "recording"
        if "transcribing" in states:
            return "transcribing"
        if self.error:
            return "error"
        return "delivered" if self.delivered else "idle"

    def refresh(self) -> None:
        if self.item is None:
            return
        state = self.shown_state()
        lines = []
        if state == "error" and self.error:
            lines.append(f"Failed: {self.error}")
        if state in ("recording", "transcribing") and self.partial:
            lines.append(f"“{shorten(self.partial, 80)}”")
        lines.append(f"Backend: {self.backend or self.run_backend or ', '.join(self.configured_backends)}"
                     f" · output: {self.output}")
        if self.recent:
            lines.append(f"Last: {shorten(self.recent[0][1])}")
        self.item.show(status="NeedsAttention" if state == "recording" else "Active",
                       icon_name=icons.THEMED[state] if self.config.theme_icons else "",
                       pixmap=icons.pixmaps(state), tooltip_title=f"voice-transcriber — {TITLES[state]}",
                       tooltip_body="\n".join(lines))
        self.menu.update(self.menu_tree())

    def menu_tree(self) -> Any:
        recording = "recording" in self.active.values()

        def radio(item_id: int, label: str, on: bool) -> Any:
            return (item_id, {"label": label, "toggle-type": "radio", "toggle-state": 1 if on else 0}, [])

        backends = [(None, f"Configured ({', '.join(self.configured_backends)})"), *((b, b) for b in self.backends)]
        return (0, {"children-display": "submenu"}, [
            (START, {"label": "Start recording", "enabled": not recording, "icon-name": "media-record"}, []),
            (STOP, {"label": "Stop recording", "enabled": recording, "icon-name": "media-playback-stop"}, []),
            (CANCEL, {"label": "Cancel recording", "enabled": recording, "icon-name": "process-stop"}, []),
            (3, {"type": "separator"}, []),
            (OUTPUT, {"label": "Output", "children-display": "submenu"},
             [radio(OUTPUT + 1 + i, label, sink == self.output) for i, (sink, label) in enumerate(SINKS)]),
            (BACKEND, {"label": "Backend", "children-display": "submenu"},
             [radio(BACKEND + 1 + i, label, name == self.backend) for i, (name, label) in enumerate(backends[:9])]),
            (RECENT_MENU, {"label": "Recent transcripts", "children-display": "submenu", "enabled": bool(self.recent)},
             [(RECENT_MENU + 1 + i, {"label": shorten(text, 50).replace("_", "__")}, [])
              for i, (_, text) in enumerate(self.recent)]),
            (40, {"type": "separator"}, []),
            (CONFIG, {"label": "Open configuration", "icon-name": "preferences-system"}, []),
            (QUIT, {"label": "Quit", "icon-name": "application-exit"}, []),
        ])

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
        self.error = None
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
        self.error = None
        self.refresh()
        await self.link.command("cancel")  # "no recording is running" is fine for a middle click

    def _failed(self, reason: str) -> None:
        self.error = reason
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
            if index < len(self.recent):
                self._spawn(self._to_clipboard(*self.recent[index]))
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

    def _seed_recent(self) -> None:
        from voice_transcriber import history

        try:
            entries = history.load(limit=RECENT, warn=lambda message: None)
        except Exception:  # noqa: BLE001 - a damaged history must not keep the tray from starting
            return
        for entry in entries:  # oldest first
            if entry.text.strip():
                self.recent.appendleft((entry.id, entry.text))


def _reason(lines: list[str]) -> str:
    errors = [line.removeprefix("voice-transcriber: error: ").removeprefix("voice-transcriber: ") for line in lines
              if line.startswith("voice-transcriber:")]
    return errors[-1] if errors else (lines[-1] if lines else "")


def run(config: TrayConfig, config_file: str | None, settings: Settings, backends: list[str], debug: bool = False) -> int:
    try:
        return asyncio.run(Tray(config, config_file, settings, backends, debug).main())
    except KeyboardInterrupt:
        return 0
