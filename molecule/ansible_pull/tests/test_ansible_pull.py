"""spotkit-pull: the timer's runs converge, skip when nothing changed, retry after a failure,
and a failed run leaves the running services alone.

The tests run in file order and share the host's state: each starts where the previous one left off.
"""

from __future__ import annotations

REPO = "/srv/pull-test/repo.git"
WORK = "/srv/pull-test/work"
PAGE = "/srv/www/index.html"
LOG = "/var/log/spotkit-pull.log"
APPLIED = "/var/lib/spotkit/pull-applied"
SERVICE = "spotkit-pull.service"


def run_pull(host):
    """Start the timer's service as the timer does; return the exit status of its run."""
    host.run("systemctl reset-failed %s", SERVICE)
    host.run("systemctl start %s", SERVICE)
    return int(host.check_output("systemctl show --property=ExecMainStatus --value %s", SERVICE))


def playbook_runs(host):
    return host.file(LOG).content_string.count("PLAY RECAP")


def commit_page(host, text):
    host.check_output("printf '%%s\\n' %s > %s/site/index.html", text, WORK)
    host.check_output("git -C %s -c user.name=test -c user.email=test@example.invalid commit --quiet -am %s", WORK, text)
    host.check_output("git -C %s push --quiet %s main", WORK, REPO)
    return host.check_output("git -C %s rev-parse HEAD", WORK)


def sentinel_pid(host):
    return host.check_output("systemctl show --property=MainPID --value pull-test-sentinel.service")


def test_units_are_installed_and_the_timer_is_waiting(host):
    assert host.file("/usr/local/sbin/spotkit-pull").mode == 0o755
    service = host.file("/etc/systemd/system/spotkit-pull.service").content_string
    assert "ExecStart=/usr/local/sbin/spotkit-pull --only-if-changed" in service
    assert "Type=oneshot" in service
    timer = host.file("/etc/systemd/system/spotkit-pull.timer").content_string
    for line in ("OnActiveSec=15min", "OnUnitActiveSec=15min", "RandomizedDelaySec=5min"):
        assert line in timer
    assert host.service("spotkit-pull.timer").is_enabled
    assert host.service("spotkit-pull.timer").is_running
    # Started by the timer, not at boot on its own.
    assert host.check_output("systemctl is-enabled %s || true", SERVICE) == "static"
    assert host.check_output("systemctl show --property=NextElapseUSecMonotonic --value spotkit-pull.timer") not in ("", "infinity")


def test_first_run_converges_and_logs_to_the_file_and_the_journal(host):
    assert run_pull(host) == 0
    assert host.file(PAGE).content_string == "version 1\n"
    assert playbook_runs(host) == 1
    assert host.file(APPLIED).content_string.strip() == host.check_output("git -C %s rev-parse HEAD", WORK)
    journal = host.check_output("journalctl --no-pager --output cat --unit %s", SERVICE)
    assert "PLAY RECAP" in journal


def test_unchanged_repository_is_not_run_again(host):
    assert run_pull(host) == 0
    assert playbook_runs(host) == 1
    assert "nothing to do" in host.file(LOG).content_string.splitlines()[-1]


def test_new_commit_is_applied_on_the_next_run(host):
    head = commit_page(host, "version-2")
    assert run_pull(host) == 0
    assert host.file(PAGE).content_string == "version-2\n"
    assert host.file(APPLIED).content_string.strip() == head


def test_failed_run_leaves_services_running_and_the_next_run_retries(host):
    pid_before = sentinel_pid(host)
    commit_page(host, "version-3")
    host.check_output("touch /etc/pull-test-break")
    assert run_pull(host) != 0
    assert host.check_output("systemctl is-failed %s || true", SERVICE) == "failed"
    assert host.file(PAGE).content_string == "version-2\n"
    assert not host.file(APPLIED).exists
    # The site's stand-in still runs, untouched, and the timer still has a next run.
    assert host.service("pull-test-sentinel.service").is_running
    assert sentinel_pid(host) == pid_before
    assert host.service("spotkit-pull.timer").is_running
    assert host.check_output("systemctl show --property=NextElapseUSecMonotonic --value spotkit-pull.timer") not in ("", "infinity")

    # No new commit: ansible-pull's own --only-if-changed would skip here; spotkit-pull retries.
    host.check_output("rm /etc/pull-test-break")
    runs = playbook_runs(host)
    assert run_pull(host) == 0
    assert playbook_runs(host) == runs + 1
    assert host.file(PAGE).content_string == "version-3\n"
