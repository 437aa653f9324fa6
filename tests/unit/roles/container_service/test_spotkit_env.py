"""spotkit-env (roles/container_service/files/spotkit_env.py), the one writer of the env files: at boot from the stack's
SSM parameter (moto in process), and for the role from stdin; the role's own task and the boot write the same bytes,
and each service's unit starts after spotkit-env.service. molecule/container_service runs the same on a host."""

from __future__ import annotations

import importlib.util
import json
import os
import stat
import subprocess
import sys

import boto3
import pytest
import yaml
from moto import mock_aws

from harness import REPO
from harness.playbook import run_playbook

ROLE = REPO / "roles" / "container_service"
TOOL = ROLE / "files" / "spotkit_env.py"
SPEC = importlib.util.spec_from_file_location("spotkit_env", TOOL)
tool = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(tool)

REGION = "eu-west-1"
PARAMETER = "/spotkit/blog/env"
SECRET = "s3cret-9b1e"
# As the spot_instance role stores it: the services' env, JSON with the types the inventory gave.
ENV = {"blog": {"SITE_DOMAIN": "blog.example.org", "TOKEN": SECRET, "PORT": 8080, "RATIO": 1.5, "DEBUG": False,
                "GREETING": 'hello $USER, 100% "quoted" = #not a comment ünï'}}
# The settings as the first boot writes them (docs/architecture.md): services without env; one keeps an env of its own
# (a service list given some other way), which the parameter's is merged over.
SETTINGS = {"spot_stack": "blog", "spot_region": REGION, "spot_env_parameter": PARAMETER, "spot_env_version": 1,
            "spot_services": [{"name": "blog", "image": "registry.example/blog:1", "ports": ["80:80"]},
                              {"name": "notes", "image": "registry.example/notes:1", "env": {"LANG": "C.UTF-8", "TOKEN": "own"}}]}


@pytest.fixture(name="ssm")
def stored_parameter(monkeypatch):
    """The stack's parameter in moto: version 1 is ENV, version 2 another value."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        client = boto3.client("ssm", region_name=REGION)
        client.put_parameter(Name=PARAMETER, Type="SecureString", Value=json.dumps(ENV, sort_keys=True))
        client.put_parameter(Name=PARAMETER, Type="SecureString", Value=json.dumps({"blog": {"TOKEN": "version-2"}}),
                             Overwrite=True)
        yield client


@pytest.fixture(name="restarted")
def no_systemctl(monkeypatch):
    """The services fetch() would restart, instead of asking systemctl."""
    calls = []
    monkeypatch.setattr(tool, "restart_running", calls.append)
    return calls


def fetch(tmp_path, capsys, settings=None):
    """(exit code, stderr lines, stdout) of `spotkit-env fetch` with these settings."""
    (tmp_path / "stack.json").write_text(json.dumps(SETTINGS if settings is None else settings))
    code = tool.main(["fetch", "--settings", str(tmp_path / "stack.json"), "--env-dir", str(tmp_path / "env")])
    out, err = capsys.readouterr()
    return code, err.splitlines(), out


def test_fetch_writes_each_services_env_file_from_the_pinned_version(ssm, restarted, tmp_path, capsys):
    code, lines, out = fetch(tmp_path, capsys)
    assert code == 0 and out == ""
    blog = (tmp_path / "env" / "blog.env").read_text()
    assert "TOKEN=%s\n" % SECRET in blog and "PORT=8080\n" in blog and "DEBUG=false\n" in blog
    assert "version-2" not in blog
    assert (tmp_path / "env" / "notes.env").read_text().splitlines()[1:] == ["LANG=C.UTF-8", "TOKEN=own"]
    assert stat.S_IMODE((tmp_path / "env" / "blog.env").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "env").stat().st_mode) == 0o700
    assert lines == ["spotkit-env: wrote the env files of blog, notes from %s version 1 (changed: blog, notes)" % PARAMETER]
    assert restarted == [["blog", "notes"]]


def test_fetch_follows_the_settings_version(ssm, restarted, tmp_path, capsys):
    assert fetch(tmp_path, capsys, dict(SETTINGS, spot_env_version=2))[0] == 0
    assert "TOKEN=version-2\n" in (tmp_path / "env" / "blog.env").read_text()


def test_a_second_fetch_changes_and_restarts_nothing(ssm, restarted, tmp_path, capsys):
    fetch(tmp_path, capsys)
    before = {path.name: (path.read_bytes(), path.stat().st_mtime_ns) for path in (tmp_path / "env").iterdir()}
    code, lines, _out = fetch(tmp_path, capsys)
    assert code == 0 and lines[0].endswith("(changed: none)") and restarted[-1] == []
    assert {path.name: (path.read_bytes(), path.stat().st_mtime_ns) for path in (tmp_path / "env").iterdir()} == before


@pytest.mark.parametrize("settings,said", [
    ({key: value for key, value in SETTINGS.items() if not key.startswith("spot_env_")},
     "the stack has no env parameter: the env files stay as the last pull wrote them"),
    (dict(SETTINGS, spot_bake=True), "a builder of the stack image: no env on it (the image holds no secret)"),
], ids=["no env parameter", "builder"])
def test_without_an_env_parameter_or_on_a_builder_nothing_is_asked_or_written(restarted, tmp_path, capsys, settings, said):
    # No AWS at all here: a call would fail for want of credentials and an endpoint.
    assert fetch(tmp_path, capsys, settings) == (0, ["spotkit-env: " + said], "")
    assert not (tmp_path / "env").exists() and restarted == []


def test_without_settings_nothing_is_written(tmp_path):
    assert tool.fetch(str(tmp_path / "none.json"), str(tmp_path / "env")) == 0
    assert not (tmp_path / "env").exists()


def test_a_missing_version_is_one_line_and_a_failure_with_no_value(ssm, restarted, tmp_path, capsys):
    (tmp_path / "env").mkdir()
    (tmp_path / "env" / "blog.env").write_text("kept\n")
    code, lines, out = fetch(tmp_path, capsys, dict(SETTINGS, spot_env_version=7))
    assert code == 1 and out == "" and len(lines) == 1, lines
    assert lines[0].startswith("spotkit-env: could not read %s:7: " % PARAMETER) and "ParameterVersionNotFound" in lines[0]
    assert lines[0].endswith("the services' env files stay as they are, systemd tries again")
    assert (tmp_path / "env" / "blog.env").read_text() == "kept\n" and restarted == []


def test_aws_out_of_reach_is_one_line_at_error_priority_and_a_failure(restarted, tmp_path, capsys, monkeypatch):
    # Run by its unit: stderr is the journal's stream.
    info = os.fstat(2)
    monkeypatch.setenv("JOURNAL_STREAM", "%d:%d" % (info.st_dev, info.st_ino))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    # Nothing listens on the discard port: the connection is refused at once, on each of the three attempts.
    code, lines, _out = fetch(tmp_path, capsys, dict(SETTINGS, spot_endpoint_url="http://127.0.0.1:9"))
    assert code == 1 and len(lines) == 1, lines
    assert lines[0].startswith("<3>could not read %s:1: Could not connect to the endpoint URL" % PARAMETER)
    assert not (tmp_path / "env").exists()


def test_the_parameter_must_be_a_mapping_of_services(ssm, restarted, tmp_path, capsys):
    ssm.put_parameter(Name=PARAMETER, Type="SecureString", Value=json.dumps([SECRET]), Overwrite=True)
    code, lines, _out = fetch(tmp_path, capsys, dict(SETTINGS, spot_env_version=3))
    assert code == 1 and lines == ["spotkit-env: %s:3 is not a mapping of services to environments; the services' env "
                                   "files stay as they are, systemd tries again" % PARAMETER]


def test_write_replaces_a_changed_file_whole_and_says_which_changed(tmp_path):
    env_dir = str(tmp_path / "env")
    assert tool.write_files(env_dir, {"blog": {"A": "1"}, "notes": {}}) == ["blog", "notes"]
    assert tool.write_files(env_dir, {"blog": {"A": "1"}, "notes": {}}) == []
    assert tool.write_files(env_dir, {"blog": {"A": "2"}, "notes": {}}, check=True) == ["blog"]
    assert "A=1\n" in (tmp_path / "env" / "blog.env").read_text()
    (tmp_path / "env" / "notes.env").chmod(0o644)
    assert tool.write_files(env_dir, {"blog": {"A": "2"}, "notes": {}}) == ["blog", "notes"]
    assert stat.S_IMODE((tmp_path / "env" / "notes.env").stat().st_mode) == 0o600
    assert sorted(os.listdir(env_dir)) == ["blog.env", "notes.env"]


def test_write_reads_stdin_and_prints_only_the_changed_services(tmp_path):
    def run(env):
        return subprocess.run([sys.executable, str(TOOL), "write", "--env-dir", str(tmp_path)], input=json.dumps(env),
                              capture_output=True, text=True, check=True)
    first = run({"blog": {"TOKEN": SECRET}})
    assert (first.stdout, first.stderr) == ("blog\n", "")
    again = run({"blog": {"TOKEN": SECRET}})
    assert (again.stdout, again.stderr) == ("", "")


# --- The role's task and the boot: the same bytes --------------------------------------------------------------------

def role_task(name):
    return [task for task in yaml.safe_load((ROLE / "tasks" / "env.yml").read_text()) if task["name"] == name][0]


@pytest.fixture(name="role_written")
def env_files_the_role_writes(tmp_path_factory):
    """{file: (bytes, mode)} that the role's own task writes for the settings' services and the parameter's env, as
    playbooks/pull.yml gives them (container_service_services, container_service_env)."""
    work = tmp_path_factory.mktemp("role")
    common = REPO / "roles" / "_common"
    play = [{"hosts": "localhost", "gather_facts": False,
             "vars_files": [str(common / "vars" / "main.yml"), str(ROLE / "defaults" / "main.yml"), str(ROLE / "vars" / "main.yml")],
             "tasks": [role_task("Write the env file of each service")]}]
    (work / "env.yml").write_text(yaml.safe_dump(play))
    variables = {"container_service_services": SETTINGS["spot_services"], "container_service_env": ENV,
                 "container_service_state_python": sys.executable, "_container_service_env_tool": str(TOOL),
                 "_common_env_dir": str(work / "env"), "ansible_python_interpreter": sys.executable}
    (work / "vars.json").write_text(json.dumps(variables))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / "collections"))
    run = run_playbook("-i", "localhost,", "-c", "local", "-e", "@%s" % (work / "vars.json"), work / "env.yml", cwd=work, env=env)
    assert run.rc == 0, run.explain()
    assert SECRET not in run.output
    return {path.name: (path.read_bytes(), stat.S_IMODE(path.stat().st_mode)) for path in (work / "env").iterdir()}


def test_the_boot_writes_the_bytes_the_role_writes(role_written, ssm, restarted, tmp_path, capsys):
    assert fetch(tmp_path, capsys)[0] == 0
    booted = {path.name: (path.read_bytes(), stat.S_IMODE(path.stat().st_mode)) for path in (tmp_path / "env").iterdir()}
    assert booted == role_written
    assert sorted(role_written) == ["blog.env", "notes.env"]
    assert ("TOKEN=%s\n" % SECRET).encode() in role_written["blog.env"][0]


def test_the_role_writes_through_spotkit_env_with_the_values_on_stdin_only():
    task = role_task("Write the env file of each service")
    assert task["no_log"] is True
    assert "_container_service_env_tool" in task["ansible.builtin.command"]["argv"]
    assert "stdin" in task["ansible.builtin.command"] and "_container_service_envs" in task["ansible.builtin.command"]["stdin"]


# --- The units: the services wait for spotkit-env at boot -----------------------------------------------------------

@pytest.fixture(name="units", scope="module")
def rendered_units(tmp_path_factory):
    """spotkit-env.service and a service's unit, rendered by Ansible with the role's variables."""
    work = tmp_path_factory.mktemp("units")
    common = REPO / "roles" / "_common"
    render = [{"name": "Render %s" % source, "ansible.builtin.template": {"src": str(ROLE / "templates" / source),
                                                                          "dest": str(work / dest), "mode": "0644"}}
              for source, dest in (("spotkit-env.service.j2", "spotkit-env.service"), ("service.unit.j2", "spotkit-blog.service"))]
    play = [{"hosts": "localhost", "gather_facts": False, "vars": {"item": "blog"},
             "vars_files": [str(common / "vars" / "main.yml"), str(ROLE / "defaults" / "main.yml"), str(ROLE / "vars" / "main.yml")],
             "tasks": render}]
    (work / "units.yml").write_text(yaml.safe_dump(play))
    variables = {"container_service_services": SETTINGS["spot_services"], "ansible_python_interpreter": sys.executable,
                 "container_service_state_python": "/opt/spotkit/venv/bin/python3"}
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / "collections"))
    run = run_playbook("-i", "localhost,", "-c", "local", "-e", json.dumps(variables), work / "units.yml", cwd=work, env=env)
    assert run.rc == 0, run.explain()
    return {path.name: path.read_text().splitlines() for path in work.glob("*.service")}


def test_a_service_starts_after_spotkit_env_and_pulls_it_in(units):
    lines = units["spotkit-blog.service"]
    assert "Wants=network-online.target spotkit-env.service" in lines
    assert "After=network-online.target docker.service spotkit-env.service" in lines
    # Wants, not Requires: an attempt that failed (AWS out of reach) delays the service, never keeps it down.
    assert not [line for line in lines if line.startswith(("Requires=spotkit-env", "BindsTo="))]


def test_spotkit_env_runs_once_per_boot_after_the_network_and_is_tried_again(units):
    lines = units["spotkit-env.service"]
    for line in ("Type=oneshot", "RemainAfterExit=yes", "After=network-online.target cloud-init.service cloud-init-network.service",
                 "Wants=network-online.target", "Restart=on-failure", "StartLimitIntervalSec=0", "WantedBy=multi-user.target",
                 "ExecStart=/opt/spotkit/venv/bin/python3 /usr/local/sbin/spotkit-env fetch --settings /etc/spotkit/stack.json "
                 "--env-dir /etc/spotkit/env"):
        assert line in lines, line
