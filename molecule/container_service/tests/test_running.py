"""What a converged host runs: pages served, units wired as the contract says, env and secrets kept apart."""

from __future__ import annotations

import json
import time

import pytest

from service_checks import (
    BLOG_HEADING,
    BLOG_PORT,
    NOTES_PORT,
    SECRET,
    container_field,
    http_get,
    scenario_vars,
    unit_property,
    wait_for_page,
)


def test_blog_serves_its_pages_on_the_host_port(host):
    status, body = http_get(host, BLOG_PORT)
    assert status == 200 and BLOG_HEADING in body, body
    status, body = http_get(host, BLOG_PORT, "/posts/hello.html")
    assert status == 200 and "<h1>Hello from spotkit</h1>" in body, body


def test_notes_serves_the_host_directory_mounted_over_srv_with_its_own_command(host):
    status, body = http_get(host, NOTES_PORT)
    assert status == 200 and "<h1>Notes mounted from the host</h1>" in body, body
    command = json.loads(container_field(host, "notes", "json .Config.Cmd"))
    assert command == ["caddy", "file-server", "--listen", ":80", "--root", "/srv"]


@pytest.mark.parametrize("service", ["blog", "notes"])
def test_unit_runs_its_container_as_the_contract_says(host, service):
    unit = host.file("/etc/systemd/system/spotkit-%s.service" % service)
    assert unit.exists and unit.user == "root" and unit.mode == 0o644
    assert unit_property(host, service, "ActiveState") == "active"
    assert unit_property(host, service, "UnitFileState") == "enabled"
    assert unit_property(host, service, "Restart") == "always"
    assert unit_property(host, service, "RestartUSec") == "5s"
    assert "docker.service" in unit_property(host, service, "Requires").split()
    assert {"docker.service", "network-online.target"} <= set(unit_property(host, service, "After").split())
    assert "network-online.target" in unit_property(host, service, "Wants").split()
    assert "StandardOutput=append:/var/log/%s.log" % service in unit.content_string
    assert "StandardError=append:/var/log/%s.log" % service in unit.content_string
    assert container_field(host, service, ".State.Running") == "true"


# (memory in bytes, pids, capabilities added, read-only root): the blog runs with the defaults.
LIMITS = {"blog": (256 * 2**20, 256, None, False), "notes": (64 * 2**20, 64, ["CAP_NET_BIND_SERVICE"], True)}


@pytest.mark.parametrize("service", sorted(LIMITS))
def test_container_runs_with_its_limits_and_no_log_of_its_own(host, service):
    config = json.loads(container_field(host, service, "json .HostConfig"))
    memory, pids, cap_add, read_only = LIMITS[service]
    assert config["Memory"] == memory
    assert config["PidsLimit"] == pids
    assert config["SecurityOpt"] == ["no-new-privileges"]
    assert config["CapDrop"] == ["ALL"]
    # Docker 26 reports the capabilities it was given with the CAP_ prefix.
    assert [cap if cap.startswith("CAP_") else "CAP_" + cap for cap in config["CapAdd"] or []] == (cap_add or [])
    assert config["ReadonlyRootfs"] is read_only
    assert config["LogConfig"]["Type"] == "none"


def test_blog_process_has_no_capability_and_cannot_gain_privileges(host):
    status = host.file("/proc/%s/status" % container_field(host, "blog", ".State.Pid")).content_string
    fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
    assert fields["NoNewPrivs"].strip() == "1"
    assert fields["CapBnd"].strip() == fields["CapEff"].strip() == "0000000000000000"


def test_the_log_file_is_the_services_one_log(host):
    before = host.file("/var/log/blog.log").size
    http_get(host, BLOG_PORT, "/posts/hello.html")
    # Caddy writes its access log line as the request ends.
    time.sleep(1)
    assert "/posts/hello.html" in host.file("/var/log/blog.log").content_string[before:]
    # Docker keeps no copy (log driver none): docker logs has nothing to read, and says so.
    logs = host.run("docker logs blog")
    assert logs.rc != 0 and "configured logging driver does not support reading" in logs.stderr, logs
    container = container_field(host, "blog", ".Id")
    assert not host.file("/var/lib/docker/containers/%s/%s-json.log" % (container, container)).exists


def test_env_file_is_root_only_and_reaches_the_container(host):
    assert host.file("/etc/spotkit/env").mode == 0o700
    env_file = host.file("/etc/spotkit/env/blog.env")
    assert (env_file.user, env_file.group, env_file.mode) == ("root", "root", 0o600)
    environment = json.loads(container_field(host, "blog", "json .Config.Env"))
    # Merged from container_service_env, and taken literally: no shell or systemd expansion on the way.
    assert "SPOTKIT_TEST_SECRET=%s" % SECRET in environment
    assert 'GREETING=hello $USER, 100% "quoted"' in environment


def test_no_secret_in_the_unit_its_properties_or_the_journal(host):
    assert SECRET not in host.file("/etc/systemd/system/spotkit-blog.service").content_string
    assert SECRET not in host.check_output("systemctl show spotkit-blog.service")
    # Modules log their arguments to the journal unless no_log hides them.
    assert SECRET not in host.check_output("journalctl --no-pager --output cat")


def test_logrotate_rotates_the_log_files_in_place(host):
    config = host.file("/etc/logrotate.d/spotkit-services").content_string
    assert "/var/log/blog.log" in config and "/var/log/notes.log" in config and "copytruncate" in config
    before = host.file("/var/log/blog.log").content_string
    assert before
    host.check_output("logrotate --force --state /var/tmp/logrotate-test.state /etc/logrotate.d/spotkit-services")
    # Compressed at once: nothing writes to the copy.
    assert host.check_output("zcat /var/log/blog.log.1.gz").startswith(before.rstrip("\n"))
    # systemd still holds the file open (append:): the next line lands at the start of the truncated
    # file, where a writer that kept its offset would leave a hole of NUL bytes.
    http_get(host, BLOG_PORT)
    after = host.file("/var/log/blog.log").content_string
    assert "handled request" in after and "\0" not in after


def test_logrotate_runs_hourly_and_rotates_a_file_past_maxsize_before_its_day(host):
    # The drop-in replaces Debian's daily schedule; it does not add to it.
    calendar = host.check_output("systemctl show --property TimersCalendar --value logrotate.timer")
    assert calendar.count("OnCalendar=") == 1 and "OnCalendar=*-*-* *:00:00" in calendar, calendar
    assert host.service("logrotate.timer").is_running
    # Past the scenario's maxsize (1M), whether or not the file was rotated today.
    host.check_output("head -c 1500000 /dev/zero | tr '\\0' x >> /var/log/notes.log")
    assert host.file("/var/log/notes.log").size > 1024 * 1024
    # What the timer starts, with logrotate's own state and no --force.
    host.check_output("systemctl start logrotate.service")
    assert host.file("/var/log/notes.log").size < 1024 * 1024
    assert "x" * 1000 in host.check_output("zcat /var/log/notes.log.1.gz")


def test_check_mode_predicts_no_change_and_shows_no_secret(run_playbook):
    # The whole converge (the docker role too): molecule.yml has no check step of its own.
    run = run_playbook("converge.yml", "--check", "--diff")
    assert run.rc == 0, run.explain()
    assert run.stats()["changed"] == 0 and run.stats()["failures"] == 0, run.explain()
    assert SECRET not in run.output


def test_no_secret_at_vvv_when_the_env_file_fails_or_changes(host, run_playbook):
    """The tasks that handle a service's env print nothing of it: not a failed item, not a diff, not at -vvv."""
    new_secret = "n3w-s3cret-7f2b0a"
    new_env = {"container_service_env": {"blog": {"SPOTKIT_TEST_SECRET": new_secret}}}
    kept = host.file("/etc/spotkit/env/blog.env").content_string
    # A read-only file system over the env files: writing the new value fails.
    host.check_output("mount -t tmpfs -o ro,mode=0700 tmpfs /etc/spotkit/env")
    try:
        run = run_playbook("services.yml", "-vvv", "--diff", extra_vars=new_env)
    finally:
        host.check_output("umount /etc/spotkit/env")
    assert run.rc != 0 and run.failure(host.backend.host)[0] == "Write the env file of each service", run.explain()
    assert new_secret not in run.output and SECRET not in run.output
    # The new value written, then the old one again: each a change that --diff would show.
    for extra_vars in (new_env, None):
        run = run_playbook("services.yml", "-vvv", "--diff", extra_vars=extra_vars)
        assert run.rc == 0 and "Write the env file of each service" in run.changed_tasks(host.backend.host), run.explain()
        assert new_secret not in run.output and SECRET not in run.output
    assert host.file("/etc/spotkit/env/blog.env").content_string == kept
    wait_for_page(host, BLOG_PORT, BLOG_HEADING)


def test_bad_service_fails_the_run_before_anything_changes(run_playbook):
    services = scenario_vars()["container_service_services"]
    services = [dict(service, ports=["8081"]) if service["name"] == "notes" else service for service in services]
    run = run_playbook("services.yml", extra_vars={"container_service_services": services})
    assert run.rc != 0 and run.stats()["changed"] == 0, run.explain()
    said = " ".join(run.messages())
    assert "container_service_services[1] (notes): field 'ports' items must be 'host:container'" in said, run.explain()
    assert "got '8081'" in said, run.explain()
