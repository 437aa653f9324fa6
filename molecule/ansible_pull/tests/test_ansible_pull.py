"""spotkit-pull of a private project whose commits must be signed: the timer's runs converge, skip when
nothing changed, retry after a failure; a failed or refused run leaves the running services alone; the
deploy key, read from SSM at each run, shows nowhere (log, journal, command lines, environments, /run).

The tests run in file order and share the host's state: each starts where the previous one left off.
"""

from __future__ import annotations

import os
import pathlib
import time

import pytest

WORK = "/srv/pull-test/work"
PAGE = "/srv/www/index.html"
LOG = "/var/log/spotkit-pull.log"
APPLIED = "/var/lib/spotkit/pull-applied"
CHECKOUT = "/opt/spotkit/project"
SERVICE = "spotkit-pull.service"
KEYS = pathlib.Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/nonexistent")) / "keys"


@pytest.fixture(name="deploy_key", scope="module")
def fixture_deploy_key():
    """The deploy key's private lines that are this key's own (the first line of an OpenSSH key's body
    is the same for every ed25519 key, the last one is short)."""
    lines = (KEYS / "deploy").read_text().splitlines()
    body = lines[1:-1]
    assert len(body) >= 4, lines
    return body[1:-1]


def assert_holds_no_key(text, deploy_key, where):
    for line in deploy_key:
        assert line not in text, "%s holds the deploy key" % where


def run_pull(host):
    """Start the timer's service as the timer does; return the exit status of its run."""
    host.run("systemctl reset-failed %s", SERVICE)
    host.run("systemctl start %s", SERVICE)
    return int(host.check_output("systemctl show --property=ExecMainStatus --value %s", SERVICE))


def playbook_runs(host):
    return host.file(LOG).content_string.count("PLAY RECAP")


def commit_page(host, text, *options):
    """Commit a new page (signed by the allowed signer unless options say otherwise) and push it."""
    host.check_output("printf '%%s\\n' %s > %s/site/index.html", text, WORK)
    host.check_output("git -C %s commit --quiet -am %s " + " ".join(options), WORK, text)
    host.check_output("git -C %s push --quiet origin main", WORK)
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


def test_the_deploy_key_is_on_no_disk_before_a_run(host, deploy_key):
    # Only the SSM parameter holds it: not the script, the settings, the role's files.
    for path in ("/usr/local/sbin/spotkit-pull", "/etc/spotkit/stack.json"):
        assert_holds_no_key(host.file(path).content_string, deploy_key, path)
    assert not host.file("/run/spotkit/pull-credential").exists


def test_first_run_converges_over_ssh_with_the_key_from_ssm(host):
    assert run_pull(host) == 0
    assert host.file(PAGE).content_string == "version 1\n"
    assert playbook_runs(host) == 1
    head = host.check_output("git -C %s rev-parse HEAD", WORK)
    assert host.file(APPLIED).content_string.strip() == head
    log = host.file(LOG).content_string
    # The commit was verified before the checkout, and ansible-pull's own fetch (its git module,
    # which inherits the environment) reached the private remote too, at the same commit.
    assert "%s is signed by an allowed signer: Good \"git\" signature for pull-test@example.invalid" % head in log
    assert '"after": "%s"' % head in log
    journal = host.check_output("journalctl --no-pager --output cat --unit %s", SERVICE)
    assert "PLAY RECAP" in journal


def test_the_credential_is_gone_after_the_run(host):
    assert host.file("/run/spotkit").is_directory
    assert host.file("/run/spotkit").mode == 0o700
    assert host.check_output("ls -A /run/spotkit") == ""


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


@pytest.mark.parametrize("signing_key,reason", [(None, "no signature"), ("stranger", "No principal matched")])
def test_a_commit_no_allowed_signer_signed_is_refused_and_the_services_stay(host, signing_key, reason):
    applied = host.file(APPLIED).content_string.strip()
    pid_before = sentinel_pid(host)
    runs = playbook_runs(host)
    if signing_key:
        host.check_output("git -C %s config user.signingkey /root/pull-test-keys/%s", WORK, signing_key)
    try:
        refused = commit_page(host, "refused", *([] if signing_key else ["--no-gpg-sign"]))
    finally:
        host.check_output("git -C %s config user.signingkey /root/pull-test-keys/signer", WORK)
    assert run_pull(host) != 0
    lines = host.file(LOG).content_string.splitlines()
    assert "refused %s (main): it is not signed by an allowed signer (spot_pull_verify): " % refused in lines[-2]
    assert reason in lines[-2]
    # Nothing of the refused commit reached the disk, nothing ran, nothing restarted.
    assert host.check_output("git -C %s rev-parse HEAD", CHECKOUT) == applied
    assert host.file(PAGE).content_string == "version-3\n"
    assert playbook_runs(host) == runs
    assert sentinel_pid(host) == pid_before
    # Forgotten, so that the next run checks again.
    assert not host.file(APPLIED).exists
    host.check_output("git -C %s reset --quiet --hard %s && git -C %s push --quiet --force origin main", WORK, applied, WORK)
    assert run_pull(host) == 0


def test_a_signed_commit_on_top_of_a_refused_one_is_applied(host):
    # Only the commit applied needs a signature: a signer vouches for the tree it signs.
    commit_page(host, "unsigned", "--no-gpg-sign")
    assert run_pull(host) != 0
    head = commit_page(host, "version-4")
    assert run_pull(host) == 0
    assert host.file(PAGE).content_string == "version-4\n"
    assert host.file(APPLIED).content_string.strip() == head


def test_the_deploy_key_is_in_no_command_line_environment_log_or_journal_even_at_vvv(host, deploy_key):
    host.check_output("rm -f /root/pull-test-samples && touch /run/pull-test-sampling")
    host.check_output("setsid --fork /usr/local/bin/pull-test-sampler </dev/null >/dev/null 2>&1")
    try:
        run = host.run("/usr/local/sbin/spotkit-pull -vvv")
    finally:
        host.check_output("rm -f /run/pull-test-sampling")
    assert run.rc == 0, run.stdout[-3000:]
    for _attempt in range(50):
        if host.file("/root/pull-test-samples").exists:
            break
        time.sleep(0.2)
    samples = host.file("/root/pull-test-samples").content_string
    # The sampler saw the run's git and ssh, with the key file's path.
    assert "ssh -i /run/spotkit/pull-credential -o IdentitiesOnly=yes" in samples
    assert "git-upload-pack" in samples
    # -vvv reaches the git module's invocation, which says nothing of the key.
    assert '"verify_commit": true' in run.stdout
    for text, where in ((samples, "a command line or environment"), (run.stdout + run.stderr, "the output of spotkit-pull -vvv"),
                        (host.file(LOG).content_string, LOG),
                        (host.check_output("journalctl --no-pager --output cat"), "the journal")):
        assert_holds_no_key(text, deploy_key, where)
    assert host.check_output("ls -A /run/spotkit") == ""
    found = host.run("grep -rlF -D skip -e %s /run /var/lib/spotkit /etc /opt/spotkit /tmp /root", deploy_key[0])
    assert found.stdout == "", found.stdout


def test_the_servers_host_key_is_pinned_or_learned_on_first_contact(host):
    learned = host.file("/var/lib/spotkit/known_hosts")
    script = host.file("/usr/local/sbin/spotkit-pull").content_string
    if "StrictHostKeyChecking=yes" in script:
        # Pinned: nothing learned, the pinned file gone with the run.
        assert not learned.exists
        assert not host.file("/run/spotkit/known_hosts").exists
    else:
        assert "StrictHostKeyChecking=accept-new" in script
        server_key = host.file("/etc/ssh/ssh_host_ed25519_key.pub").content_string.split()[1]
        assert server_key in learned.content_string
