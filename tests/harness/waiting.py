"""Waiting for a condition in a test: the one poll loop of the integration tests and the molecule verifiers."""

from __future__ import annotations

import time


def wait_for(condition, timeout, what, interval=0.5):
    """condition()'s first true value, asked every `interval` s; AssertionError naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("not within %s s: %s" % (timeout, what))
