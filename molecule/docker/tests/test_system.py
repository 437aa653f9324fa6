"""The system role, which this scenario applies before docker as the instance's play does: the journal
capped and the cap in force, no swap file in a container (and why), bad input refused."""

from __future__ import annotations

import re
import time


def journald_says_max(host, megabytes, since):
    """Whether journald, started after `since`, reported the cap of its persistent journal as that many MiB.

    systemd 252 (Debian 12) writes "max 100.0M", systemd 257 (Debian 13) "max 100M".
    """
    messages = host.check_output("journalctl --no-pager --output cat --unit systemd-journald --since @%d" % since)
    pattern = re.compile(r"^System Journal .*, max %d(\.0)?M," % megabytes)
    return any(pattern.match(line) for line in messages.splitlines())


def said(run):
    return " ".join(run.messages())


def test_the_journal_is_persistent_and_capped_by_a_drop_in(host):
    # SystemMaxUse caps the persistent journal, which Debian 12 and 13 keep in /var/log/journal.
    assert host.file("/var/log/journal").is_directory
    dropin = host.file("/etc/systemd/journald.conf.d/spotkit.conf")
    assert (dropin.user, dropin.mode) == ("root", 0o644)
    assert "SystemMaxUse=100M" in dropin.content_string.splitlines()
    assert "SystemMaxUse=100M" in host.check_output("systemd-analyze cat-config systemd/journald.conf")


def test_a_new_cap_restarts_journald_which_takes_it(host, run_playbook):
    since = int(time.time()) - 1
    try:
        run = run_playbook("converge.yml", extra_vars={"system_journald_max_use": "16M"})
        assert run.rc == 0, run.explain()
        assert "Cap the disk the journal takes" in run.changed_tasks(host.backend.host)
        assert "SystemMaxUse=16M" in host.file("/etc/systemd/journald.conf.d/spotkit.conf").content_string
        assert journald_says_max(host, 16, since)
    finally:
        since = int(time.time()) - 1
        run = run_playbook("converge.yml")
    assert run.rc == 0, run.explain()
    assert journald_says_max(host, 100, since)
    assert host.service("systemd-journald").is_running


def test_a_container_gets_no_swap_file_and_is_told_why(host, run_playbook):
    run = run_playbook("converge.yml")
    assert run.rc == 0 and run.stats()["changed"] == 0, run.explain()
    assert "No swap file: this host is a container (docker)" in said(run), run.messages()
    assert not host.file("/swapfile").exists
    assert not host.file("/etc/systemd/system/swapfile.swap").exists
    assert not host.file("/etc/sysctl.d/60-spotkit-swap.conf").exists


def test_bad_input_is_refused_before_anything_changes(run_playbook):
    run = run_playbook("converge.yml", extra_vars={"system_journald_max_use": "a lot"})
    assert run.rc != 0 and run.stats()["changed"] == 0, run.explain()
    assert "system_journald_max_use must be a number with the unit K, M or G, such as 100M; got a lot" in said(run)
    run = run_playbook("converge.yml", extra_vars={"system_swap_file": "/var/swap-file"})
    assert run.rc != 0 and run.stats()["changed"] == 0, run.explain()
    assert "got /var/swap-file" in said(run)
