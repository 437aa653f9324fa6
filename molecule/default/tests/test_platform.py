"""The shared platforms boot systemd, and Docker can run inside them, without --privileged."""

from __future__ import annotations

CAP_NET_ADMIN, CAP_SYS_MODULE, CAP_SYS_ADMIN = 12, 16, 21


def effective_capabilities(host):
    status = host.file("/proc/1/status").content_string
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("CapEff:")), 16)


def test_systemd_is_pid_1_and_reaches_its_target(host):
    assert host.file("/proc/1/comm").content_string.strip() == "systemd"
    state = host.run("systemctl is-system-running --wait").stdout.strip()
    assert state in ("running", "degraded"), host.run("systemctl --failed --no-pager").stdout


def test_two_capabilities_more_than_a_plain_container_and_not_privileged(host):
    capabilities = effective_capabilities(host)
    assert capabilities & (1 << CAP_SYS_ADMIN) and capabilities & (1 << CAP_NET_ADMIN)
    assert not capabilities & (1 << CAP_SYS_MODULE)


def test_run_is_tmpfs_and_the_docker_data_root_is_a_volume(host):
    mounts = {mount.split()[1]: mount.split()[2] for mount in host.file("/proc/mounts").content_string.splitlines()}
    assert mounts["/run"] == "tmpfs" and mounts["/run/lock"] == "tmpfs"
    assert "/var/lib/docker" in mounts and mounts["/var/lib/docker"] != "overlay"
    assert mounts["/sys/fs/cgroup"] in ("cgroup2", "tmpfs")
