"""dockerd --validate (Docker 23 and later, so Debian 13 here) stops a bad daemon.json before it is written."""

from __future__ import annotations

# Debian 12's dockerd 20.10 has no --validate: there the role writes the file unchecked (roles/docker/README.md).
testinfra_hosts = ["ansible://debian13-docker"]


def test_bad_daemon_option_is_refused_and_the_file_is_kept(host, run_playbook):
    before = host.file("/etc/docker/daemon.json").content_string
    run = run_playbook("converge.yml", extra_vars={"docker_daemon_options": {"no-such-option": True}})
    assert run.rc != 0, run.explain()
    assert "failed to validate" in run.output and "no-such-option" in run.output, run.explain()
    assert host.file("/etc/docker/daemon.json").content_string == before
    assert host.service("docker").is_running
