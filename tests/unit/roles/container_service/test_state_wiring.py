"""How a service's state is wired (docs/state.md): its unit restores before the start and saves after a clean stop,
only with a bucket and a `state:`; a builder of the stack image (spot_bake) gets the bucket from playbooks/pull.yml, so
that its image's units restore, and starts nothing, so that it neither restores nor saves itself.
molecule/container_service runs the rest on a host."""

from __future__ import annotations

import json
import os
import sys

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

from harness import REPO
from harness.playbook import run_playbook

SERVICES = [
    {"name": "uptime", "image": "louislam/uptime-kuma:1", "volumes": ["/srv/uptime:/app/data"], "state": ["/srv/uptime"]},
    {"name": "blog", "image": "registry.example/blog:1", "ports": ["80:80"]},
]
BUCKET = "spotkit-blog-eu-west-1-123456789012"
ROLE = REPO / "roles" / "container_service"
# The role's unit template, rendered by Ansible with the role's variables (its filters need a play's collection loader).
PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  vars_files: [%(common)s/vars/main.yml, %(role)s/defaults/main.yml, %(role)s/vars/main.yml]
  tasks:
    - name: Render the unit of each service, with a bucket and without
      ansible.builtin.template:
        src: %(role)s/templates/service.unit.j2
        dest: "{{ out }}/{{ bucket or 'none' }}-{{ item }}.service"
        mode: "0644"
      loop: [uptime, blog]
      vars:
        container_service_state_bucket: "%(bucket)s"
        bucket: "{{ container_service_state_bucket }}"
"""


@pytest.fixture(name="units", scope="module")
def rendered_units(tmp_path_factory):
    work = tmp_path_factory.mktemp("units")
    play, tasks = PLAYBOOK.split("  tasks:\n")
    (work / "units.yml").write_text(play % {"common": REPO / "roles" / "_common", "role": ROLE} + "  tasks:\n" + "".join(
        tasks % {"role": ROLE, "bucket": bucket} for bucket in (BUCKET, "")))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / "collections"))
    variables = {"out": str(work), "container_service_services": SERVICES, "container_service_state_region": "eu-west-1",
                 "container_service_state_python": "/opt/spotkit/venv/bin/python3", "ansible_python_interpreter": sys.executable}
    run = run_playbook("-i", "localhost,", "-c", "local", "-e", json.dumps(variables), work / "units.yml", cwd=work, env=env)
    assert run.rc == 0, run.explain()
    return {(name, bucket): (work / ("%s-%s.service" % (bucket or "none", name))).read_text()
            for name in ("uptime", "blog") for bucket in (BUCKET, "")}


def test_a_service_with_state_restores_before_its_start_and_saves_after_a_clean_stop(units):
    lines = units[("uptime", BUCKET)].splitlines()
    restore = lines.index("ExecStartPre=/opt/spotkit/venv/bin/python3 /usr/local/sbin/spotkit-state restore uptime")
    assert lines.index([line for line in lines if "container-prestart" in line][0]) < restore
    assert "ExecStopPost=-/opt/spotkit/venv/bin/python3 /usr/local/sbin/spotkit-state save --on-stop uptime" in lines
    assert "SuccessExitStatus=143" in lines


@pytest.mark.parametrize("name,bucket", [("blog", BUCKET), ("uptime", ""), ("blog", "")])
def test_no_restore_or_save_without_state_or_without_a_bucket(units, name, bucket):
    assert "spotkit-state" not in units[(name, bucket)]
    assert "ExecStart=" in units[(name, bucket)]


def pull_role_vars(variables):
    """container_service_state_bucket and container_service_start as playbooks/pull.yml gives them to the role, for
    the settings `variables`."""
    play = yaml.safe_load((REPO / "playbooks" / "pull.yml").read_text())[0]
    tasks = play["tasks"][0]["block"]
    role = [task for task in tasks if task.get("ansible.builtin.include_role", {}).get("name") == "spotkit.ec2.container_service"][0]
    merged = dict(variables, _pull_bake=play["vars"]["_pull_bake"])
    templar = Templar(loader=DataLoader(), variables={key: trust_as_template(value) if isinstance(value, str) else value
                                                      for key, value in merged.items()})
    return tuple(templar.template(trust_as_template(role["vars"][name]))
                 for name in ("container_service_state_bucket", "container_service_start"))


def test_an_instance_starts_its_services_with_the_stacks_bucket_and_a_builder_only_installs_them():
    settings = {"spot_state_bucket": "spotkit-blog-eu-west-1-123456789012"}
    assert pull_role_vars(settings) == ("spotkit-blog-eu-west-1-123456789012", True)
    assert pull_role_vars(dict(settings, spot_bake=True)) == ("spotkit-blog-eu-west-1-123456789012", False)
    assert pull_role_vars({}) == ("", True)
