"""At the boot of an instance of the stack image, spotkit-env.service writes the services' env files from the stack's
SSM parameter (here in the AWS emulator on the host) before the services start: the bytes the role writes, so that the
converge after it changes and restarts nothing; AWS out of reach is one line, and systemd tries again.
The host becomes an instance of a stack for these tests (its settings file) and stops being one after them."""

from __future__ import annotations

import json
import os
import shlex
import time

import pytest

from service_checks import BLOG_HEADING, BLOG_PORT, SECRET, emulator_client, invocation_id, journal_cursor, scenario_vars, wait_for_page

SETTINGS = "/etc/spotkit/stack.json"
PARAMETER = "/spotkit/molecule/env"
UNIT = "spotkit-env.service"


def write_settings(host, settings):
    host.check_output("printf '%%s\\n' %s > %s" % (shlex.quote(json.dumps(settings)), SETTINGS))


def env_files(host):
    """{service: (bytes, mode, owner, group)} of the env files."""
    names = host.check_output("ls /etc/spotkit/env").split()
    return {name: (host.file("/etc/spotkit/env/" + name).content, host.file("/etc/spotkit/env/" + name).mode,
                   host.file("/etc/spotkit/env/" + name).user, host.file("/etc/spotkit/env/" + name).group) for name in names}


def env_lines(host, since):
    """spotkit-env's journal lines since the cursor."""
    return host.check_output("journalctl --no-pager --output cat --after-cursor '%s' --identifier spotkit-env" % since).splitlines()


@pytest.fixture(name="settings", scope="module")
def an_instance_of_a_stack(host):
    """The stack's env parameter in the emulator, as provisioning stores it ({service: env}, a SecureString), and the
    settings the first boot writes (the services without env, the parameter's name and version)."""
    variables = scenario_vars()
    stored = json.dumps(variables["container_service_env"], sort_keys=True)
    version = emulator_client("ssm").put_parameter(Name=PARAMETER, Type="SecureString", Overwrite=True, Value=stored)["Version"]
    with open(os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "state-endpoint-url"), encoding="utf-8") as handle:
        endpoint = handle.read().strip()
    # The scenario's services as the role got them: the blog keeps an env of its own, which the parameter's merges over.
    settings = {"spot_stack": "molecule", "spot_region": variables["container_service_state_region"],
                "spot_endpoint_url": endpoint, "spot_services": variables["container_service_services"],
                "spot_env_parameter": PARAMETER, "spot_env_version": version}
    write_settings(host, settings)
    yield settings
    host.check_output("rm -f %s" % SETTINGS)


def test_the_services_start_after_spotkit_env_and_want_it(host):
    for service in ("blog", "notes", "ledger"):
        shown = host.check_output("systemctl show --property After,Wants spotkit-%s.service" % service)
        after, wants = (line.split("=", 1)[1].split() for line in sorted(shown.splitlines()))
        assert UNIT in after and UNIT in wants, shown
    assert "spotkit-blog.service" in host.check_output("systemctl show --property Before --value %s" % UNIT).split()
    assert host.service(UNIT).is_enabled


def test_a_start_writes_back_the_env_files_the_role_wrote(host, settings):
    written = env_files(host)
    assert sorted(written) == ["blog.env", "ledger.env", "notes.env"]
    assert SECRET.encode() in written["blog.env"][0]
    since = journal_cursor(host)
    host.check_output("rm /etc/spotkit/env/*.env && systemctl restart %s" % UNIT)
    assert env_files(host) == written
    lines = env_lines(host, since)
    assert ["wrote the env files of blog, ledger, notes from %s version %d (changed: blog, ledger, notes)"
            % (PARAMETER, settings["spot_env_version"])] == [line for line in lines if line.startswith("wrote")], lines
    assert SECRET not in host.check_output("journalctl --no-pager --output cat --unit %s" % UNIT)


def test_the_converge_after_it_changes_and_restarts_nothing(host, run_playbook, settings):
    # The start above restarted the services whose file it rewrote while they ran: let that settle.
    wait_for_page(host, BLOG_PORT, BLOG_HEADING)
    time.sleep(2)
    started = invocation_id(host, "blog")
    host.check_output("systemctl restart %s" % UNIT)
    run = run_playbook("services.yml")
    assert run.rc == 0, run.explain()
    assert "Write the env file of each service" not in run.changed_tasks(host.backend.host), run.explain()
    assert invocation_id(host, "blog") == started


def test_aws_out_of_reach_is_one_line_and_systemd_tries_again(host, settings):
    kept = env_files(host)
    # Nothing listens there: the connection is refused at once.
    write_settings(host, dict(settings, spot_endpoint_url="http://127.0.0.1:9"))
    since = journal_cursor(host)
    failed = host.run("systemctl restart %s" % UNIT)
    assert failed.rc != 0
    lines = env_lines(host, since)
    refused = "could not read %s:%d: Could not connect to the endpoint URL" % (PARAMETER, settings["spot_env_version"])
    assert len(lines) == 1 and lines[0].startswith(refused), lines
    assert SECRET not in "".join(lines) and env_files(host) == kept
    # AWS answers again: the next attempt, RestartSec later (3 s here, prepare.yml), succeeds without anyone asking.
    write_settings(host, settings)
    deadline = time.monotonic() + 40
    while host.check_output("systemctl show --property ActiveState --value %s" % UNIT) != "active":
        assert time.monotonic() < deadline, host.check_output("systemctl status --no-pager %s || true" % UNIT)
        time.sleep(1)
    assert int(host.check_output("systemctl show --property NRestarts --value %s" % UNIT)) >= 1
    assert env_files(host) == kept
