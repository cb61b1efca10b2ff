"""Microphone capture. (Recording is not built yet: use ``--input FILE`` or ``--input -``.)"""

from __future__ import annotations

from ..context import RunContext
from ..errors import UsageError
from ..types import Audio
from ..pipeline import Plan


def record(ctx: RunContext, plan: "Plan") -> Audio:
    """Record from the microphone until the user stops; return the captured audio."""
    raise UsageError("microphone capture is not available yet: pass --input FILE (or --input - for stdin)")
