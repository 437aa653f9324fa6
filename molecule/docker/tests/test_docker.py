"""The docker role: engine installed, configured as asked, running, and able to run a container."""

from __future__ import annotations

import json

EXPECTED_DAEMON_JSON = {
    "log-driver": "json-file",
    "log-opts": {"max-size": "10m", "max-file": "3"},
    "live-restore": True,
    "insecure-registries": ["registry.spotkit.test:5000"],
}


def docker_info(host):
    return json.loads(host.check_output("docker info --format '{{json .}}'"))


def test_engine_is_enabled_and_running(host):
    service = host.service("docker")
    assert service.is_enabled
    assert service.is_running
    assert host.run("docker version --format '{{.Server.Version}}'").rc == 0


def test_daemon_json_is_the_role_defaults_merged_with_docker_daemon_options(host):
    daemon_json = host.file("/etc/docker/daemon.json")
    assert daemon_json.user == "root"
    assert daemon_json.mode == 0o644
    assert json.loads(daemon_json.content_string) == EXPECTED_DAEMON_JSON


def test_running_daemon_uses_that_configuration(host):
    info = docker_info(host)
    assert info["LiveRestoreEnabled"] is True
    assert info["LoggingDriver"] == "json-file"
    assert info["RegistryConfig"]["IndexConfigs"]["registry.spotkit.test:5000"]["Secure"] is False


def test_service_environment_drop_in_is_applied(host):
    environment = host.check_output("systemctl show docker.service --property Environment")
    assert "DOCKER_ALLOW_IPV6_ON_IPV4_INTERFACE=1" in environment.split("=", 1)[1].split()


def test_a_container_runs_with_rotated_json_logs(host):
    host.check_output("docker load --input /var/tmp/debian-trixie.tar")
    # Bridge network and a published port: the path a service container takes.
    run = host.run("docker run --rm --publish 127.0.0.1:18080:80 debian:trixie cat /etc/debian_version")
    assert run.rc == 0, run.stderr
    assert run.stdout.strip().startswith("13")
    container = host.check_output("docker run --detach debian:trixie sleep 30")
    try:
        log_config = json.loads(host.check_output("docker inspect --format '{{json .HostConfig.LogConfig}}' %s" % container))
    finally:
        host.run("docker rm --force %s" % container)
    assert log_config == {"Type": "json-file", "Config": {"max-file": "3", "max-size": "10m"}}


def test_an_attached_container_without_a_log_driver_writes_only_to_its_units_file(host):
    """What a container_service unit does: the attached client's output appended to a file, no log in Docker."""
    if host.run("docker image inspect debian:trixie").rc != 0:
        host.check_output("docker load --input /var/tmp/debian-trixie.tar")
    host.run("rm -f /var/tmp/log-driver-none.log")
    run = host.run(
        "systemd-run --wait --collect --quiet --unit spotkit-log-test "
        "--property StandardOutput=append:/var/tmp/log-driver-none.log --property StandardError=append:/var/tmp/log-driver-none.log "
        "docker run --rm --log-driver none debian:trixie sh -c 'echo to stdout; echo to stderr >&2'"
    )
    assert run.rc == 0, run.stderr
    assert sorted(host.file("/var/tmp/log-driver-none.log").content_string.splitlines()) == ["to stderr", "to stdout"]
    container = host.check_output("docker run --detach --log-driver none debian:trixie sh -c 'echo hello; sleep 30'")
    try:
        logs = host.run("docker logs %s" % container)
        files = host.check_output("ls /var/lib/docker/containers/%s" % container).split()
    finally:
        host.run("docker rm --force %s" % container)
    assert logs.rc != 0 and "configured logging driver does not support reading" in logs.stderr, logs
    assert not [name for name in files if name.endswith(".log")], files


def test_check_mode_predicts_no_change(run_playbook):
    run = run_playbook("converge.yml", "--check", "--diff")
    assert run.rc == 0, run.explain()
    assert run.stats()["changed"] == 0 and run.stats()["failures"] == 0, run.explain()
