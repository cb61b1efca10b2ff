"""Knowing that a paste was served: the target application fetched the dictation from the selection.

Giving the previous clipboard back a fixed time after the paste chord is a race: a busy application
asks for the selection late and pastes the *old* content. So while a paste that restores is under
way, the text is offered by an owner that sees the requests, and the clipboard is given back once
the paste was served (``restoreDelay`` is only the cap):

* **X11** (:class:`XOwner`): this process owns the selections itself over its own X connection
  and answers every request (TARGETS, UTF8_STRING, STRING, TEXT, ``text/plain;charset=utf-8``).
  The paste counts as served when a *text* request arrives after the chord from the target
  window's own X client (the window ids one client creates share its resource-id base: the rule
  ``xkill`` uses). A list of formats (TARGETS) is not the paste, and a clipboard manager or any other
  program that reads the selection meanwhile is served but does not count. When the desktop could
  not tell the target window, the first text request after the chord counts.
* **Wayland** (:class:`WlServed`): ``wl-copy`` serves each paste by running ``cat`` on its copy of
  the text; a ``cat`` of ours, first on the ``PATH`` of that ``wl-copy`` only, notes when each serve
  starts and ends in a private file and runs the real one. Wayland does not say who reads, so the
  first read that starts after the chord counts once it is served; the reads that started before it
  (our own check that the copy took, a clipboard manager storing the new selection) do not, even
  when they end after it.

Where neither works (texts over 64 KiB on X11, no X connection, a ``wl-copy`` that copies without
``cat``) the paste has no signal and waits the whole ``restoreDelay``, as it always did.
"""

from __future__ import annotations

import os
import select
import shlex
import shutil
import stat
import tempfile
import time
from pathlib import Path

from voice_transcriber import SinkError

#: Larger texts would need the INCR protocol on X11; they get the timed wait instead.
MAX_X_BYTES = 64 * 1024
TEXT_TARGETS = ("UTF8_STRING", "text/plain;charset=utf-8", "STRING", "TEXT")


class XOwner:
    """The X selections ``selections`` owned by this process with ``text`` until :meth:`close`.

    ``target``: the X id of the window the paste is for (None: unknown). Call :meth:`arm` right
    before the chord; :meth:`wait_served` then waits until the target's client fetched the text."""

    name = "X11 selection owner"

    def __init__(self, text: str, selections: list[str], target: int | None) -> None:
        try:
            from Xlib import X, Xatom, display, error
        except ImportError:
            raise SinkError("python-xlib is missing (reinstall voice-transcriber)") from None
        self.X, self.Xatom = X, Xatom
        self.data = text.encode("utf-8")
        if len(self.data) > MAX_X_BYTES:
            raise SinkError(f"the text is over {MAX_X_BYTES // 1024} KiB")
        try:
            self.d = display.Display()
        except (error.DisplayError, error.ConnectionClosedError, OSError) as exc:
            raise SinkError(f"cannot connect to the X server: {exc}") from None
        self.d.set_error_handler(lambda *_: None)  # a requestor that went away meanwhile: nothing to answer
        self.window = self.d.screen().root.create_window(-10, -10, 1, 1, 0, 0, X.InputOnly, X.CopyFromParent,
                                                        event_mask=X.PropertyChangeMask)
        self.atoms = {name: self.d.intern_atom(name) for name in (*TEXT_TARGETS, "TARGETS", "TIMESTAMP", "CLIPBOARD")}
        self.time = self._server_time()
        self.owned: dict[int, str] = {}
        for selection in selections:
            atom = self.atoms["CLIPBOARD"] if selection == "clipboard" else Xatom.PRIMARY
            self.window.set_selection_owner(atom, self.time)
            if self.d.get_selection_owner(atom).id != self.window.id:
                self.close()
                raise SinkError(f"could not take the {selection} selection")
            self.owned[atom] = selection
        self.target_window = f"{target:#x}" if target is not None else None
        client_bits = ~self.d.display.info.resource_id_mask
        self.client = None if target is None else target & client_bits
        self._client_bits = client_bits
        self.armed = False
        self.served: float | None = None  #: seconds after the chord when the target fetched the text
        self.others = 0  #: text requests that did not count (other programs, or before the chord)
        self._requests: list[tuple[int, int, bool]] = []  # target, requestor, answered: the first 20
        self._armed_at = 0.0

    def _server_time(self) -> int:
        """A timestamp from the server (ICCCM: owning a selection at CurrentTime is wrong): the time of
        a property change on our own window."""
        self.window.change_property(self.d.intern_atom("VT_PASTE_TIME"), self.Xatom.STRING, 8, b"")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            while self.d.pending_events():
                event = self.d.next_event()
                if event.type == self.X.PropertyNotify and event.window.id == self.window.id:
                    return event.time
            select.select([self.d], [], [], 0.1)
        self.close()
        raise SinkError("the X server did not answer within 5 s")

    def arm(self) -> None:
        """The chord goes now: text requests from the target's client count from here on."""
        self._pump(0)
        self.armed, self._armed_at = True, time.monotonic()

    def wait_served(self, cap: float) -> bool:
        """Answer requests until the target fetched the text (True) or ``cap`` seconds passed."""
        return self._pump(cap, lambda: self.served is not None)

    def wait_given_up(self, selections: list[str], timeout: float) -> list[str]:
        """Keep answering until each of ``selections`` has another owner (the tool given the content
        back: :meth:`close` would leave a request arriving meanwhile unanswered); those still ours
        after ``timeout`` seconds."""
        def ours() -> list[str]:
            return sorted(name for name in self.owned.values() if name in selections)

        self._pump(timeout, lambda: not ours())
        return ours()

    def requests(self) -> str:
        """The requests so far, for --debug: ``UTF8_STRING from 0x400021 (the target's client)``."""
        parts = []
        for target, requestor, answered in self._requests:
            whose = " (the target's client)" if self._of_target(requestor) else ""
            parts.append(f"{self.d.get_atom_name(target)} from {requestor:#x}{whose}{'' if answered else ' refused'}")
        return ", ".join(parts)

    def _of_target(self, requestor: int) -> bool:
        """``requestor`` (a window) belongs to the target window's X client."""
        return self.client is not None and requestor & self._client_bits == self.client

    def close(self) -> None:
        try:
            # a round trip first, as Xlib's XCloseDisplay does: the server may drop requests it had not run yet
            # when the connection closes (the answer to the last request, seen once in ~10 runs without it)
            self.d.sync()
        except Exception:  # noqa: BLE001 - already gone
            pass
        try:
            self.d.close()
        except Exception:  # noqa: BLE001 - already gone
            pass

    def _pump(self, timeout: float, done=lambda: False) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            while self.d.pending_events():
                self._handle(self.d.next_event())
            if done():
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            select.select([self.d], [], [], min(left, 0.5))

    def _handle(self, event) -> None:
        X = self.X
        if event.type == X.SelectionClear:
            self.owned.pop(event.atom, None)
        elif event.type == X.SelectionRequest:
            prop = event.property if event.property != X.NONE else event.target  # pre-ICCCM requestors
            answered = self._answer(event, prop)
            if not answered:
                prop = X.NONE
            elif event.target in self._text_atoms():
                self._count(event.requestor.id)
            if len(self._requests) < 20:
                self._requests.append((event.target, event.requestor.id, answered))
            from Xlib.protocol import event as xevent

            notify = xevent.SelectionNotify(time=event.time, requestor=event.requestor, selection=event.selection,
                                            target=event.target, property=prop)
            event.requestor.send_event(notify)
            self.d.flush()

    def _text_atoms(self) -> list[int]:
        return [self.atoms[name] for name in TEXT_TARGETS]

    def _answer(self, event, prop: int) -> bool:
        """Put what ``event`` asks for on the requestor's property; False when we cannot give it."""
        if event.selection not in self.owned:
            return False
        target, requestor = event.target, event.requestor
        if target == self.atoms["TARGETS"]:
            offered = [self.atoms["TARGETS"], self.atoms["TIMESTAMP"], *self._text_atoms()]
            requestor.change_property(prop, self.Xatom.ATOM, 32, offered)
        elif target == self.atoms["TIMESTAMP"]:
            requestor.change_property(prop, self.Xatom.INTEGER, 32, [self.time])
        elif target == self.atoms["STRING"]:  # ISO Latin-1 by definition
            latin1 = self.data.decode("utf-8").encode("latin-1", "replace")
            requestor.change_property(prop, self.Xatom.STRING, 8, latin1)
        elif target in self._text_atoms():
            kind = target if target == self.atoms["text/plain;charset=utf-8"] else self.atoms["UTF8_STRING"]
            requestor.change_property(prop, kind, 8, self.data)
        else:
            return False
        return True

    def _count(self, requestor: int) -> None:
        if self.armed and self.served is None and (self.client is None or self._of_target(requestor)):
            self.served = time.monotonic() - self._armed_at
        else:
            self.others += 1


class WlServed:
    """Notes each paste ``wl-copy`` serves: a private directory with a ``cat`` that notes the serve's start
    (``S pid``) in ``served``, runs the real one, then notes its end (``E pid``). A serve counts when it
    *started* after :meth:`arm` (a read that began before the chord may end after it: a clipboard
    manager's). Copy with :meth:`env`; :meth:`arm` right before the chord."""

    name = "wl-copy"

    def __init__(self) -> None:
        real = shutil.which("cat")
        if real is None:
            raise SinkError("no cat program")
        self.folder = Path(tempfile.mkdtemp(prefix="vt-paste-"))  # 0700: nobody else can put a cat there
        self.log = self.folder / "served"
        self.log.touch()
        log = shlex.quote(str(self.log))
        script = self.folder / "cat"
        script.write_text(f"#!/bin/sh\necho \"S $$\" >> {log}\n{shlex.quote(real)} \"$@\"\nstatus=$?\n"
                          f"echo \"E $$\" >> {log}\nexit $status\n", encoding="utf-8")
        script.chmod(stat.S_IRWXU)
        self.before: set[str] = set()
        self.served: float | None = None
        self.others = 0  #: reads that started before the chord
        self._armed_at = 0.0

    def env(self) -> dict[str, str]:
        return {**os.environ, "PATH": f"{self.folder}{os.pathsep}{os.environ.get('PATH', os.defpath)}"}

    def _serves(self, mark: str) -> set[str]:
        try:
            lines = self.log.read_text(encoding="ascii", errors="replace").splitlines()
        except OSError:
            return set()
        return {line[2:] for line in lines if line.startswith(f"{mark} ")}

    def arm(self) -> None:
        self.before = self._serves("S")
        self.others = len(self.before)
        self._armed_at = time.monotonic()

    def wait_served(self, cap: float) -> bool:
        deadline = time.monotonic() + cap
        delay = 0.005
        while not self._serves("E") - self.before:
            if time.monotonic() >= deadline:
                return False
            time.sleep(delay)  # a file's growth: polled, briefly (no inotify in the standard library)
            delay = min(delay * 2, 0.05)
        self.served = time.monotonic() - self._armed_at
        return True

    def wait_given_up(self, selections: list[str], timeout: float) -> list[str]:
        return []

    def close(self) -> None:
        # a wl-copy still serving the dictation (nothing to give back) finds the real cat next on its PATH
        shutil.rmtree(self.folder, ignore_errors=True)
