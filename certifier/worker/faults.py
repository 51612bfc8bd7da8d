"""Fault injection for crash tests: ``SCEAU_FAULT_KILL_AT=<checkpoint>`` makes the worker SIGKILL
itself right after the named state is committed, exactly as a power cut would stop it there.
Checkpoints: batch_recorded, tx_recorded, broadcast, mined, confirmed."""

from __future__ import annotations

import os
import signal

CHECKPOINTS = ("batch_recorded", "tx_recorded", "broadcast", "mined", "confirmed")


def checkpoint(name: str) -> None:
    if os.environ.get("SCEAU_FAULT_KILL_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
