"""The two D-Bus interfaces the tray exports: ``org.kde.StatusNotifierItem`` and ``com.canonical.dbusmenu``.

They hold no logic of their own: they show what :class:`~voice_transcriber_tray.app.Tray`
decided and hand clicks back to it. dbus-fast reads the D-Bus signatures from the
annotations, so this module does not use ``from __future__ import annotations``.
"""

from typing import Any, Callable

from dbus_fast import PropertyAccess, Variant
from dbus_fast.service import ServiceInterface, dbus_property, method, signal

ITEM_PATH = "/StatusNotifierItem"
MENU_PATH = "/MenuBar"
READ = PropertyAccess.READ


class StatusNotifierItem(ServiceInterface):
    """The item a tray host draws. Its look is set with :meth:`show`, which emits the spec's signals."""

    def __init__(self, on_activate: Callable[[], None], on_secondary: Callable[[], None]) -> None:
        super().__init__("org.kde.StatusNotifierItem")
        self._on_activate, self._on_secondary = on_activate, on_secondary
        self.title = "voice-transcriber"
        self.status = "Active"
        self.icon_name = ""
        self.icon_pixmap: list[Any] = []
        self.attention_name = ""
        self.attention_pixmap: list[Any] = []
        self.tooltip: list[Any] = ["", [], "voice-transcriber", ""]

    def show(self, *, status: str, icon_name: str, pixmap: list[Any], tooltip_title: str, tooltip_body: str) -> None:
        """Change what the host shows; one signal per property that changed (NewStatus, NewIcon …)."""
        if pixmap != self.icon_pixmap or icon_name != self.icon_name:
            self.icon_name, self.icon_pixmap = icon_name, pixmap
            self.NewIcon()
        if status == "NeedsAttention" and (pixmap != self.attention_pixmap or icon_name != self.attention_name):
            self.attention_name, self.attention_pixmap = icon_name, pixmap
            self.NewAttentionIcon()
        tooltip = [icon_name, pixmap, tooltip_title, tooltip_body]
        if tooltip != self.tooltip:
            self.tooltip = tooltip
            self.NewToolTip()
        if status != self.status:
            self.status = status
            self.NewStatus(status)

    # --- properties (the spec's, plus KDE's IconThemePath) ------------------------------------------

    @dbus_property(access=READ)
    def Category(self) -> "s":
        return "ApplicationStatus"

    @dbus_property(access=READ)
    def Id(self) -> "s":
        return "voice-transcriber"

    @dbus_property(access=READ)
    def Title(self) -> "s":
        return self.title

    @dbus_property(access=READ)
    def Status(self) -> "s":
        return self.status

    @dbus_property(access=READ)
    def WindowId(self) -> "i":
        return 0

    @dbus_property(access=READ)
    def IconName(self) -> "s":
        return self.icon_name

    @dbus_property(access=READ)
    def IconPixmap(self) -> "a(iiay)":
        return self.icon_pixmap

    @dbus_property(access=READ)
    def OverlayIconName(self) -> "s":
        return ""

    @dbus_property(access=READ)
    def OverlayIconPixmap(self) -> "a(iiay)":
        return []

    @dbus_property(access=READ)
    def AttentionIconName(self) -> "s":
        return self.attention_name

    @dbus_property(access=READ)
    def AttentionIconPixmap(self) -> "a(iiay)":
        return self.attention_pixmap

    @dbus_property(access=READ)
    def AttentionMovieName(self) -> "s":
        return ""

    @dbus_property(access=READ)
    def ToolTip(self) -> "(sa(iiay)ss)":
        return self.tooltip

    @dbus_property(access=READ)
    def ItemIsMenu(self) -> "b":
        return False

    @dbus_property(access=READ)
    def Menu(self) -> "o":
        return MENU_PATH

    @dbus_property(access=READ)
    def IconThemePath(self) -> "s":
        return ""

    # --- methods ---------------------------------------------------------------------------------------

    @method()
    def Activate(self, x: "i", y: "i"):
        self._on_activate()

    @method()
    def SecondaryActivate(self, x: "i", y: "i"):
        self._on_secondary()

    @method()
    def ContextMenu(self, x: "i", y: "i"):
        pass  # hosts open the dbusmenu themselves

    @method()
    def Scroll(self, delta: "i", orientation: "s"):
        pass

    # --- signals ---------------------------------------------------------------------------------------

    @signal()
    def NewTitle(self):
        pass

    @signal()
    def NewIcon(self):
        pass

    @signal()
    def NewAttentionIcon(self):
        pass

    @signal()
    def NewOverlayIcon(self):
        pass

    @signal()
    def NewToolTip(self):
        pass

    @signal()
    def NewStatus(self, status) -> "s":
        return status


MenuItem = tuple[int, dict[str, Any], list["MenuItem"]]


class DBusMenu(ServiceInterface):
    """``com.canonical.dbusmenu`` over a tree of ``(id, properties, children)`` set with :meth:`update`."""

    def __init__(self, on_event: Callable[[int], None]) -> None:
        super().__init__("com.canonical.dbusmenu")
        self._on_event = on_event
        self.revision = 1
        self.root: MenuItem = (0, {"children-display": "submenu"}, [])
        self._items: dict[int, MenuItem] = {0: self.root}

    def update(self, root: MenuItem) -> None:
        """Replace the tree: LayoutUpdated if its shape changed, else ItemsPropertiesUpdated for the changed items."""
        items = dict(_walk(root))
        shape = {i: [c[0] for c in item[2]] for i, item in items.items()}
        old_shape = {i: [c[0] for c in item[2]] for i, item in self._items.items()}
        changed = [(i, item[1]) for i, item in items.items() if i in self._items and self._items[i][1] != item[1]]
        self.root, self._items = root, items
        if shape != old_shape:
            self.revision += 1
            self.LayoutUpdated(self.revision, 0)
        elif changed:
            self.ItemsPropertiesUpdated([[i, _variants(props)] for i, props in changed], [])

    def _layout(self, item: MenuItem, depth: int, names: list[str]) -> list[Any]:
        item_id, props, children = item
        wanted = {k: v for k, v in props.items() if not names or k in names}
        kids = [] if depth == 0 else [Variant("(ia{sv}av)", self._layout(c, depth - 1, names)) for c in children]
        return [item_id, _variants(wanted), kids]

    @method()
    def GetLayout(self, parent_id: "i", recursion_depth: "i", property_names: "as") -> "u(ia{sv}av)":
        item = self._items.get(parent_id, self.root)
        return [self.revision, self._layout(item, recursion_depth if recursion_depth >= 0 else 1 << 30, property_names)]

    @method()
    def GetGroupProperties(self, ids: "ai", property_names: "as") -> "a(ia{sv})":
        chosen = ids or list(self._items)
        return [[i, _variants({k: v for k, v in self._items[i][1].items() if not property_names or k in property_names})]
                for i in chosen if i in self._items]

    @method()
    def GetProperty(self, id: "i", name: "s") -> "v":
        value = self._items.get(id, self.root)[1].get(name, "")
        return _variant(value)

    @method()
    def Event(self, id: "i", event_id: "s", data: "v", timestamp: "u"):
        if event_id == "clicked":
            self._on_event(id)

    @method()
    def EventGroup(self, events: "a(isvu)") -> "ai":
        missing = []
        for item_id, event_id, _data, _timestamp in events:
            if item_id not in self._items:
                missing.append(item_id)
            elif event_id == "clicked":
                self._on_event(item_id)
        return missing

    @method()
    def AboutToShow(self, id: "i") -> "b":
        return False

    @method()
    def AboutToShowGroup(self, ids: "ai") -> "aiai":
        return [[], []]

    @dbus_property(access=READ)
    def Version(self) -> "u":
        return 3

    @dbus_property(access=READ)
    def TextDirection(self) -> "s":
        return "ltr"

    @dbus_property(access=READ)
    def Status(self) -> "s":
        return "normal"

    @dbus_property(access=READ)
    def IconThemePath(self) -> "as":
        return []

    @signal()
    def ItemsPropertiesUpdated(self, updated, removed) -> "a(ia{sv})a(ias)":
        return [updated, removed]

    @signal()
    def LayoutUpdated(self, revision, parent) -> "ui":
        return [revision, parent]

    @signal()
    def ItemActivationRequested(self, id, timestamp) -> "iu":
        return [id, timestamp]


def _walk(item: MenuItem):
    yield item[0], item
    for child in item[2]:
        yield from _walk(child)


def _variant(value: Any) -> Variant:
    if isinstance(value, bool):
        return Variant("b", value)
    if isinstance(value, int):
        return Variant("i", value)
    return Variant("s", str(value))


def _variants(props: dict[str, Any]) -> dict[str, Variant]:
    return {key: _variant(value) for key, value in props.items()}
