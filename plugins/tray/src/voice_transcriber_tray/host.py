"""The tray's item registered with the tray host (``org.kde.StatusNotifierWatcher``), again whenever a host appears.

When no tray host runs, one line says so and the tray waits for ``NameOwnerChanged``; a panel that restarts
gets the item registered again.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

WATCHER = "org.kde.StatusNotifierWatcher"
DBUS = "org.freedesktop.DBus"


class TrayHost:
    """Registers the item ``name`` on ``bus``; ``spawn`` runs a coroutine as a task of the tray's loop."""

    def __init__(self, bus: Any, name: str, spawn: Callable[[Coroutine[Any, Any, None]], None],
                 say: Callable[[str], None]) -> None:
        self.bus, self.name, self.spawn, self.say = bus, name, spawn, say
        self._waiting_said = False

    async def watch(self) -> None:
        """Register again whenever a tray host appears, or the panel restarts."""
        from dbus_fast import Message, MessageType

        rule = f"type='signal',sender='{DBUS}',interface='{DBUS}',member='NameOwnerChanged',arg0='{WATCHER}'"
        await self.bus.call(Message(destination=DBUS, path="/org/freedesktop/DBus", interface=DBUS, member="AddMatch",
                                    signature="s", body=[rule]))

        def on_message(message: Any) -> None:
            if message.message_type == MessageType.SIGNAL and message.member == "NameOwnerChanged" \
                    and message.body and message.body[0] == WATCHER and message.body[2]:
                self.spawn(self.register())  # a tray host appeared, or the panel restarted

        self.bus.add_message_handler(on_message)

    async def register(self) -> None:
        """Register the item with the tray host; without one, say so once and wait for :meth:`watch`."""
        from dbus_fast import Message, MessageType

        reply = await self.bus.call(Message(destination=WATCHER, path="/StatusNotifierWatcher", interface=WATCHER,
                                            member="RegisterStatusNotifierItem", signature="s", body=[self.name]))
        if reply.message_type == MessageType.ERROR:
            if not self._waiting_said:
                self.say("no tray host on the session bus (nothing owns org.kde.StatusNotifierWatcher: start your "
                         "panel, or enable the AppIndicator extension on GNOME); waiting for one")
                self._waiting_said = True
            return
        self._waiting_said = False
        self.say(f"registered {self.name} with the tray host")
