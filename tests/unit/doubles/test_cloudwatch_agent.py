"""The CloudWatch agent TEST DOUBLE (tests/doubles/cloudwatch_agent): its build and its programs.

The molecule scenario installs it in systemd containers; these tests check, on the host, what
the role and the scenario rely on: a reproducible package named as a test double, the real
layout, and fetch-config moving the files as the real ctl does.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DOUBLE = Path(__file__).resolve().parents[2] / "doubles" / "cloudwatch_agent"
AGENT = "opt/aws/amazon-cloudwatch-agent"
NEW, OLD = "1.300070.0b1181", "1.300069.0b1180"


def build(out, version, *archs, reference=None):
    env = dict(os.environ)
    if reference is not None:
        env["SPOTKIT_REFERENCE_DIR"] = str(reference.parent)
    result = subprocess.run([str(DOUBLE / "build.sh"), str(out), version, *archs],
                            capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 0, result.stderr
    return [Path(line) for line in result.stdout.split()]


def field(deb, name):
    return subprocess.run(["dpkg-deb", "--field", str(deb), name], capture_output=True, text=True, check=True).stdout.strip()


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def debs(tmp_path_factory, cloudwatch_reference):
    if shutil.which("dpkg-deb") is None:
        pytest.fail("dpkg-deb is needed to build the test double (Debian package dpkg)")
    out = tmp_path_factory.mktemp("debs")
    return {
        "new": build(out, NEW, "amd64", "arm64", reference=cloudwatch_reference),
        "old": build(out, OLD, "amd64", reference=cloudwatch_reference),
    }


@pytest.fixture()
def agent_home(debs, tmp_path):
    """The new amd64 package, unpacked, its programs run by this Python (which has jsonschema)."""
    subprocess.run(["dpkg-deb", "--extract", str(debs["new"][0]), str(tmp_path)], check=True)
    home = tmp_path / AGENT
    for program in ("config-downloader", "config-translator", "amazon-cloudwatch-agent"):
        path = home / "bin" / program
        path.write_text("#!%s\n%s" % (sys.executable, path.read_text().split("\n", 1)[1]))
    return home


def ctl(home, *args, env=None):
    environment = dict(os.environ, CWAGENT_DOUBLE_HOME=str(home), CWAGENT_DOUBLE_IMDS_URL="http://127.0.0.1:9")
    environment.update(env or {})
    return subprocess.run([str(home / "bin" / "amazon-cloudwatch-agent-ctl"), *args],
                          capture_output=True, text=True, env=environment, check=False)


def config_file(tmp_path, config, name="amazon-cloudwatch-agent.json"):
    path = tmp_path / name
    path.write_text(json.dumps(config))
    return path


def sample(cloudwatch_reference, region="eu-west-1"):
    config = json.loads((cloudwatch_reference / "examples" / "standard_config_linux.json").read_text())
    if region:
        config.setdefault("agent", {})["region"] = region
    return config


def test_build_is_reproducible_and_names_the_package_a_test_double(debs, tmp_path, cloudwatch_reference):
    again = build(tmp_path, NEW, "amd64", "arm64", reference=cloudwatch_reference)
    assert [sha256(deb) for deb in again] == [sha256(deb) for deb in debs["new"]]
    amd64, arm64 = debs["new"]
    assert amd64.name == "amazon-cloudwatch-agent_%s-1_amd64.test-double.deb" % NEW
    assert field(amd64, "Package") == "amazon-cloudwatch-agent"
    assert field(amd64, "Version") == NEW + "-1"
    assert field(amd64, "Description").startswith("TEST DOUBLE")
    assert (field(amd64, "Architecture"), field(arm64, "Architecture")) == ("amd64", "arm64")


def test_build_refuses_bad_arguments(tmp_path):
    for args in ([str(tmp_path)], [str(tmp_path), "latest"], [str(tmp_path), NEW, "i386"]):
        result = subprocess.run([str(DOUBLE / "build.sh"), *args], capture_output=True, text=True, check=False)
        assert result.returncode != 0
        assert "build.sh:" in result.stderr


def test_package_has_the_real_layout(debs):
    listing = subprocess.run(["dpkg-deb", "--contents", str(debs["new"][0])], capture_output=True, text=True, check=True).stdout
    for path in ("bin/amazon-cloudwatch-agent-ctl", "bin/amazon-cloudwatch-agent", "bin/start-amazon-cloudwatch-agent",
                 "bin/config-translator", "bin/config-downloader", "bin/CWAGENT_VERSION",
                 "doc/amazon-cloudwatch-agent-schema.json", "etc/amazon-cloudwatch-agent.d/", "logs/", "var/", "TEST-DOUBLE"):
        assert "./%s/%s" % (AGENT, path) in listing
    assert "./etc/systemd/system/amazon-cloudwatch-agent.service" in listing

    def control(name):
        return subprocess.run(["dpkg-deb", "--info", str(debs["new"][0]), name], capture_output=True, text=True, check=True).stdout

    assert control("conffiles").split() == ["/%s/etc/common-config.toml" % AGENT]
    assert "useradd --system" in control("preinst") and "cwagent" in control("preinst")


def test_unit_keeps_the_real_restart_policy(agent_home):
    unit = (agent_home.parents[2] / "etc/systemd/system/amazon-cloudwatch-agent.service").read_text()
    assert "Restart=on-failure" in unit
    assert "RestartSec=60s" in unit
    assert "ExecStart=/%s/bin/start-amazon-cloudwatch-agent" % AGENT in unit


def test_schema_follows_the_version(debs, tmp_path, cloudwatch_reference):
    for deb, version in ((debs["new"][0], NEW), (debs["old"][0], OLD)):
        subprocess.run(["dpkg-deb", "--extract", str(deb), str(tmp_path / version)], check=True)
    new_schema = tmp_path / NEW / AGENT / "doc/amazon-cloudwatch-agent-schema.json"
    assert new_schema.read_bytes() == (cloudwatch_reference / "schema.json").read_bytes()
    old = json.loads((tmp_path / OLD / AGENT / "doc/amazon-cloudwatch-agent-schema.json").read_text())
    collected = old["definitions"]["logsDefinition"]["properties"]["logs_collected"]["properties"]
    assert "journald" not in collected and "files" in collected
    assert (tmp_path / OLD / AGENT / "bin/CWAGENT_VERSION").read_text().strip() == OLD


def test_fetch_config_applies_a_file_config_like_the_real_ctl(agent_home, tmp_path, cloudwatch_reference):
    json_dir = agent_home / "etc/amazon-cloudwatch-agent.d"
    (json_dir / "file_older.json").write_text("{}")
    (agent_home / "etc/amazon-cloudwatch-agent.json").write_text("{}")
    source = config_file(tmp_path, sample(cloudwatch_reference))
    result = ctl(agent_home, "-a", "fetch-config", "-m", "ec2", "-c", "file:%s" % source)
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(p.name for p in json_dir.iterdir()) == ["file_amazon-cloudwatch-agent.json"]
    assert (json_dir / "file_amazon-cloudwatch-agent.json").read_bytes() == source.read_bytes()
    assert not (agent_home / "etc/amazon-cloudwatch-agent.json").exists()
    assert 'region = "eu-west-1"' in (agent_home / "etc/amazon-cloudwatch-agent.toml").read_text()


def test_fetch_config_refuses_a_config_that_fails_the_schema(agent_home, tmp_path, cloudwatch_reference):
    json_dir = agent_home / "etc/amazon-cloudwatch-agent.d"
    good = config_file(tmp_path, sample(cloudwatch_reference))
    assert ctl(agent_home, "-a", "fetch-config", "-c", "file:%s" % good).returncode == 0
    applied = good.read_bytes()
    bad = sample(cloudwatch_reference)
    bad["logs"] = {"logs_collected": {"unknown_source": {}}}
    result = ctl(agent_home, "-a", "fetch-config", "-m", "ec2", "-c", "file:%s" % config_file(tmp_path, bad))
    assert result.returncode == 1
    assert "E! Invalid Json input schema." in result.stdout
    # Same file name, as when the role rewrites its config: the previous one stays applied.
    assert (json_dir / "file_amazon-cloudwatch-agent.json").read_bytes() == applied


def test_fetch_config_needs_a_region_off_ec2(agent_home, tmp_path, cloudwatch_reference):
    source = config_file(tmp_path, sample(cloudwatch_reference, region=None))
    result = ctl(agent_home, "-a", "fetch-config", "-m", "ec2", "-c", "file:%s" % source)
    assert result.returncode == 1
    assert "Region info is missing for mode: ec2" in result.stdout
    assert not (agent_home / "etc/amazon-cloudwatch-agent.d/file_amazon-cloudwatch-agent.json").exists()


def test_ctl_refuses_what_it_does_not_implement(agent_home):
    for args in (["-a", "append-config", "-c", "file:/x"], ["-a", "fetch-config", "-m", "mars"]):
        result = ctl(agent_home, *args)
        assert result.returncode == 1
        assert "usage:" in result.stderr
