"""spotkit.ec2.pull, run by the first boot's spotkit-pull on a fresh container, left the instance serving,
its address attached, its env in the container only, the agent running and the periodic pull armed."""

from __future__ import annotations

import json
import os
import pathlib
import re
import subprocess

import boto3
import pytest

PULL = "ANSIBLE_COLLECTIONS_PATH=/opt/spotkit/collections /opt/spotkit/venv/bin/ansible-playbook -i localhost,"


@pytest.fixture(name="state")
def fixture_state():
    """What prepare.yml set up: the stack, its instance and address, the env it stored."""
    with open(os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "pull.json"), encoding="utf-8") as stream:
        return json.load(stream)


@pytest.fixture(name="secret")
def fixture_secret(state):
    return state["env"]["blog"]["SPOTKIT_TEST_SECRET"]


def test_the_example_blog_answers_http_with_its_redirect_to_https(host):
    # The scenario's blog keeps its default name (localhost) and reaches no ACME CA, so it holds no certificate:
    # port 80 answers with Caddy's redirect. The e2e sandbox serves the page over HTTPS, with pebble as the CA.
    answer = host.check_output(
        "python3 -c 'import http.client; c = http.client.HTTPConnection(\"127.0.0.1\", 80, timeout=10); "
        "c.request(\"GET\", \"/notes\", headers={\"Host\": \"localhost\"}); r = c.getresponse(); "
        "print(r.status, r.getheader(\"Location\"))'"
    )
    assert answer == "308 https://localhost/notes"
    # The page it serves, read out of the running container (docker cp: an exec cannot enter it in this nested Docker).
    assert "<title>Notes from a spot instance" in host.check_output("docker cp blog:/srv/index.html - | tar -xO")


def test_site_service_is_enabled_and_running(host):
    unit = host.service("spotkit-blog.service")
    assert unit.is_enabled
    assert unit.is_running


def test_address_is_on_the_instance_cloud_init_names(state):
    ec2 = boto3.client(
        "ec2", region_name=state["region"], endpoint_url=state["emulator_url"],
        aws_access_key_id="molecule", aws_secret_access_key="molecule",
    )
    addresses = ec2.describe_addresses(Filters=[{"Name": "tag:spotkit:stack", "Values": [state["stack"]]}])["Addresses"]
    assert [(a["PublicIp"], a.get("InstanceId")) for a in addresses] == [(state["public_ip"], state["instance_id"])]


def test_env_from_ssm_reaches_the_container(host, secret):
    env = json.loads(host.check_output("docker inspect --format '{{json .Config.Env}}' blog"))
    assert "SPOTKIT_TEST_SECRET=%s" % secret in env


@pytest.mark.parametrize("path", [
    "/etc/systemd/system/spotkit-blog.service",
    "/etc/spotkit/stack.json",
    "/var/log/spotkit-pull.log",
])
def test_secret_is_nowhere_else(host, secret, path):
    assert host.file(path).exists
    assert secret not in host.file(path).content_string, "%s holds the secret" % path


def test_journal_holds_no_secret(host, secret):
    assert secret not in host.check_output("journalctl --no-pager --output cat")


def test_cloudwatch_agent_runs_with_the_stack_config(host, state):
    assert host.service("amazon-cloudwatch-agent.service").is_running
    config = json.loads(host.file("/etc/spotkit/amazon-cloudwatch-agent.json").content_string)
    groups = {item["log_group_name"] for item in config["logs"]["logs_collected"]["files"]["collect_list"]}
    assert "/spotkit/%s/ansible-pull" % state["stack"] in groups
    assert "/spotkit/%s/blog" % state["stack"] in groups


def test_the_ssm_agent_runs_for_session_manager(host):
    """spot_session_manager is on by default: the agent from its signed package (the TEST DOUBLE here)."""
    assert host.package("amazon-ssm-agent").is_installed
    assert host.service("amazon-ssm-agent.service").is_enabled and host.service("amazon-ssm-agent.service").is_running


def test_the_collections_come_from_the_projects_requirements(host):
    for name in ("spotkit/ec2", "amazon/aws"):
        assert host.file("/opt/spotkit/collections/ansible_collections/%s/MANIFEST.json" % name).exists, name
    assert host.file("/var/lib/spotkit/requirements-applied").exists


def test_the_first_pull_left_the_first_boots_pull_script_as_it_was(host):
    # The first boot's copy and the ansible_pull role's come from one template: the role had nothing to change.
    log = host.file("/var/log/spotkit-pull.log").content_string
    first = re.search(r"TASK \[spotkit\.ec2\.ansible_pull : Install the pull script\][^\n]*\n(\w+): \[localhost\]", log)
    assert first is not None, log[-3000:]
    assert first.group(1) == "ok"


def test_the_virtualenv_holds_exactly_the_hashed_requirements(host):
    # As the first boot installs it (the image's build): pip --require-hashes from the role's file.
    requirements = pathlib.Path(os.environ["MOLECULE_PROJECT_DIRECTORY"], "roles/spot_instance/files/instance-requirements.txt")
    pinned = {line.split(" ")[0].lower() for line in requirements.read_text().splitlines() if "==" in line and not line.startswith("#")}
    frozen = host.check_output("/opt/spotkit/venv/bin/pip freeze --all").lower().split()
    assert {line for line in frozen if not line.startswith(("pip==", "setuptools=="))} == pinned


def test_periodic_pull_is_armed(host):
    timer = host.service("spotkit-pull.timer")
    assert timer.is_enabled
    assert timer.is_running


# Roles of the play whose tasks these tests look for in its output.
ROLES = ("system", "docker", "container_service", "eip", "cloudwatch_agent", "ansible_pull")


def ran(output, role):
    return "TASK [spotkit.ec2.%s : " % role in output


def test_check_mode_on_the_converged_instance_predicts_no_change(host, state):
    # spot_pull_full: with the inputs of the last converge, a run skips the roles (the tests below).
    run = host.run("cd %s && %s --check -e spot_pull_full=true pull.yml" % (state["checkout"], PULL))
    assert run.rc == 0, run.stdout + run.stderr
    recap = re.search(r"^localhost\s+:\s+ok=\d+\s+changed=(\d+)", run.stdout, re.MULTILINE)
    assert recap is not None, run.stdout
    assert recap.group(1) == "0", run.stdout
    assert all(ran(run.stdout, role) for role in ROLES), run.stdout[-3000:]


def spotkit_pull(host, *args):
    """Runs spotkit-pull as the timer does when the project has a new commit: its output and the recap's changed."""
    run = host.run("/usr/local/sbin/spotkit-pull %s" % " ".join(args))
    assert run.rc == 0, run.stdout[-3000:] + run.stderr
    recap = re.findall(r"^localhost\s+:\s+ok=\d+\s+changed=(\d+)", run.stdout, re.MULTILINE)
    assert recap, run.stdout[-3000:]
    return run.stdout, int(recap[-1])


def test_a_pull_with_the_inputs_of_the_last_converge_skips_the_roles_but_checks_the_images(host):
    output, changed = spotkit_pull(host)
    assert changed == 0, output[-3000:]
    assert not any(ran(output, role) for role in ROLES if role != "container_service"), output
    assert "TASK [spotkit.ec2.container_service : Pull the image of each service as its pull policy says]" in output
    assert "TASK [spotkit.ec2.container_service : Write" not in output


def test_a_pull_with_unchanged_inputs_restarts_a_service_whose_tag_names_a_newer_image(host, state):
    # A second edition of the blog's image, pushed from elsewhere under the same tag.
    tag = "%s/spotkit/blog:latest" % state["registry"]
    subprocess.run("printf 'FROM %s\\nLABEL spotkit.test=second-edition\\n' | docker build --quiet --tag %s - && docker push --quiet %s"
                   % (tag, tag, tag), shell=True, check=True, capture_output=True)
    started = host.check_output("systemctl show --property InvocationID --value spotkit-blog.service")
    first_edition = host.check_output("docker inspect --format '{{.Image}}' blog")

    output, changed = spotkit_pull(host)

    # The pull, the restart, and the prune of the first edition, which no service uses any more.
    assert changed == 3 and not ran(output, "docker"), output[-3000:]
    assert host.check_output("systemctl show --property InvocationID --value spotkit-blog.service") != started
    assert host.run("docker image inspect %s" % first_edition).rc != 0
    assert host.check_output("docker inspect --format '{{index .Config.Labels \"spotkit.test\"}}' blog") == "second-edition"


def test_after_a_failed_pull_the_next_applies_every_role(host):
    # A bad value fails the container_service role's checks, after the roles before it ran.
    failed = host.run("/usr/local/sbin/spotkit-pull -e spot_pull_full=true -e container_service_pull_timeout=0")
    assert failed.rc != 0 and "container_service_pull_timeout" in failed.stdout, failed.stdout[-3000:]
    assert not host.file("/var/lib/spotkit/converged").exists

    output, changed = spotkit_pull(host)

    assert changed == 1 and ran(output, "docker"), output[-3000:]
    assert host.file("/var/lib/spotkit/converged").exists


def test_a_changed_variable_beside_the_projects_playbook_applies_every_role_again(host, state):
    # Left in place: the next run, with these inputs, skips the roles again.
    group_vars = os.path.join(state["checkout"], "group_vars")
    host.check_output("mkdir -p %s && echo 'scenario_note: changed' > %s/all.yml" % (group_vars, group_vars))
    output, changed = spotkit_pull(host)
    # Every role ran on a converged instance, and the one change is the inputs it remembers: the whole play is
    # idempotent (molecule's idempotence step runs with the inputs of the converge, so it skips the roles).
    assert changed == 1, output[-3000:]
    assert all(ran(output, role) for role in ROLES), output[-3000:]
    assert "TASK [Remember the inputs of this converge, which the next run compares with its own]" in output
    output, changed = spotkit_pull(host)
    assert changed == 0 and not ran(output, "docker"), output[-3000:]
