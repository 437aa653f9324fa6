"""Shared by every scenario's testinfra verifier."""

from __future__ import annotations

import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):  # pylint: disable=unused-argument
    """When a check fails, attach the end of the host's journal to the report: it usually says why."""
    outcome = yield
    report = outcome.get_result()
    host = item.funcargs.get("host") if hasattr(item, "funcargs") else None
    if report.when == "call" and report.failed and host is not None:
        journal = host.run("journalctl --no-pager --lines 80 --output short-iso")
        report.sections.append(("journal (last 80 lines)", journal.stdout or journal.stderr))
