"""``--live`` (``output.live``): text shown while it is recognised, by the sinks that can show it.

While :func:`live_text` is active, every ``vt_partial_text`` of the run is handed to
:meth:`~voice_transcriber.Sink.show_partial` of each chosen sink whose ``live`` is True
(``typing``); their :meth:`~voice_transcriber.Sink.deliver` then replaces it with the final,
formatted text. A live sink that gets no final text (no speech left after formatting, a
failed or cancelled run) is told ``show_partial("")``: take back what was shown. The other
sinks get the final text only, as always.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from .errors import SinkError
from .hookspecs import hookimpl

if TYPE_CHECKING:
    from .context import RunContext, Sink
    from .pipeline import Plan


class LiveText:
    """An observer registered for one run: passes that run's partial text to its live sinks."""

    def __init__(self, run_id: str, sinks: list[Sink]) -> None:
        self.run_id = run_id
        self.sinks = sinks
        self.delivered: set[str] = set()

    @hookimpl
    def vt_partial_text(self, ctx: RunContext, text: str) -> None:
        if ctx.run_id == self.run_id:
            self.show(ctx, text, list(self.sinks))

    @hookimpl
    def vt_text_delivered(self, ctx: RunContext, sink: str) -> None:
        if ctx.run_id == self.run_id:
            self.delivered.add(sink)

    def take_back(self, ctx: RunContext) -> None:
        """Clear what the sinks that got no final text are still showing."""
        self.show(ctx, "", [sink for sink in self.sinks if sink.name not in self.delivered])

    def show(self, ctx: RunContext, text: str, sinks: list[Sink]) -> None:
        for sink in sinks:
            try:
                sink.show_partial(text)
            except SinkError as exc:
                self.sinks.remove(sink)
                ctx.warn(f"--live: {exc}; '{sink.name}' gets the final text only")


def live_sinks(plan: Plan, ctx: RunContext) -> list[Sink]:
    """The plan's sinks that show partial text: none unless ``output.live``; one warning when none can."""
    if not ctx.settings.output.live or ctx.pm is None:
        return []
    sinks = [sink for sink in plan.sinks if sink.live]
    if not sinks:
        names = ", ".join(sink.name for sink in plan.sinks) or "none"
        ctx.warn(f"--live: the chosen sinks ({names}) cannot show text while it is recognised "
                 "(the typing sink can); they get the final text only")
    return sinks


@contextmanager
def live_text(plan: Plan, ctx: RunContext) -> Iterator[list[Sink]]:
    """Forward the run's partial text to the plan's live sinks (only with ``output.live``).

    Yields the sinks that show partial text (empty when live text is off or no sink can).
    """
    sinks = live_sinks(plan, ctx)
    if not sinks:
        yield []
        return
    assert ctx.pm is not None
    live = LiveText(ctx.run_id, sinks)
    name = ctx.pm.register(live, name=f"live-text-{ctx.run_id}")
    try:
        yield sinks
    finally:
        ctx.pm.unregister(name=name)
        live.take_back(ctx)
