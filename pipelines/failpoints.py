"""Named points where a test can make a run crash, to prove a crash never leaves a half state.

``TIEDOLLA_FAILPOINT=<point>`` raises :class:`InjectedFailure` when the run reaches
``<point>``; ``TIEDOLLA_FAILPOINT=<point>:kill`` kills the process there with SIGKILL (no
clean-up runs, as in a power cut or the OOM killer). Points are step keys (reached when the
step stores its output) and ``release:gathered`` / ``release:switched`` inside the switch.
Unset in production: then this is one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

VARIABLE = "TIEDOLLA_FAILPOINT"


class InjectedFailure(RuntimeError):
    """A crash a test asked for."""


def reached(point: str) -> None:
    wanted = os.environ.get(VARIABLE)
    if not wanted:
        return
    kill = wanted.endswith(":kill")
    if wanted.removesuffix(":kill") != point:
        return
    if kill:
        os.kill(os.getpid(), signal.SIGKILL)
    raise InjectedFailure(f"injected failure at {point}")
