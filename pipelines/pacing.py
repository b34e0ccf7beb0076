"""How a long step reports its progress without flooding the log."""

from __future__ import annotations

import time
from collections.abc import Callable


def throttled(say: Callable[[str], None], every_seconds: float = 10.0) -> Callable[[str], None]:
    """How a long step reports its progress: a callback for its loop that passes a message on at most once every
    ``every_seconds`` (the first at once), so a step of minutes says where it is without flooding the log."""
    last = [-float("inf")]

    def report(message: str) -> None:
        now = time.monotonic()
        if now - last[0] >= every_seconds:
            last[0] = now
            say(message)

    return report
