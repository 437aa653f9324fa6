"""The AWS emulator for tests and benchmarks: sandbox/emulator/emulator_process.py on a free port.

The sandbox and the molecule scenarios start the same emulator through the same starter, from the
command line.
"""

from __future__ import annotations

import contextlib
import socket
import sys

from harness import REPO

sys.path.insert(0, str(REPO / "sandbox" / "emulator"))
from emulator_process import EmulatorProcess  # noqa: E402 pylint: disable=wrong-import-position

__all__ = ["EmulatorProcess", "free_port", "running_emulator"]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_emulator(state_dir):
    """An emulator on a free loopback port, its pidfile and log in state_dir; stopped on exit."""
    emulator = EmulatorProcess([("127.0.0.1", free_port())], state_dir)
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()
