"""The AWS emulator for tests and benchmarks: sandbox/emulator/emulator_process.py on a free port.

The emulator binds port 0 itself and says which port it got: no other process (a parallel test
worker, another checkout's tests) can take that port between choosing and binding it.

The sandbox and the molecule scenarios start the same emulator through the same starter, from the
command line.
"""

from __future__ import annotations

import contextlib
import sys

from harness import REPO

sys.path.insert(0, str(REPO / "sandbox" / "emulator"))
from emulator_process import EmulatorProcess  # noqa: E402 pylint: disable=wrong-import-position

__all__ = ["EmulatorProcess", "running_emulator"]


@contextlib.contextmanager
def running_emulator(state_dir):
    """An emulator on a free loopback port, its pidfile and log in state_dir; stopped on exit."""
    emulator = EmulatorProcess([("127.0.0.1", 0)], state_dir)
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()
