"""The cloudwatch_agent role's own expressions and files, checked without an instance.

The URLs are rendered with Ansible's templating from the role's defaults and vars, as a play
would; the molecule scenario covers amd64 end to end, these cover every distribution and
architecture the role picks a package for.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from harness.role_variables import render_role_variable

ROLE = Path(__file__).resolve().parents[4] / "roles" / "cloudwatch_agent"
CHECKER = ROLE / "files" / "cloudwatch-agent-config-check.py"
GLOBAL = "https://s3.amazonaws.com/amazoncloudwatch-agent"


def render(name, distribution="Debian", architecture="x86_64", **overrides):
    return render_role_variable("cloudwatch_agent", name, {
        **overrides, "ansible_facts": {"distribution": distribution, "architecture": architecture}})


@pytest.mark.parametrize("distribution, architecture, path", [
    ("Debian", "x86_64", "debian/amd64"),
    ("Debian", "aarch64", "ubuntu/arm64"),  # AWS publishes no debian/arm64 package
    ("Ubuntu", "x86_64", "ubuntu/amd64"),
    ("Ubuntu", "aarch64", "ubuntu/arm64"),
])
def test_the_package_path_follows_distribution_and_architecture(distribution, architecture, path):
    url = render("_cloudwatch_agent_package_url", distribution, architecture)
    assert url == "%s/%s/latest/amazon-cloudwatch-agent.deb" % (GLOBAL, path)


def test_a_known_region_picks_the_regional_mirror_for_every_download():
    downloads = render("_cloudwatch_agent_downloads", "Debian", "aarch64", cloudwatch_agent_region="eu-west-1")
    mirror = "https://amazoncloudwatch-agent-eu-west-1.s3.eu-west-1.amazonaws.com"
    assert [item["url"] for item in downloads] == [
        mirror + "/ubuntu/arm64/latest/amazon-cloudwatch-agent.deb",
        mirror + "/ubuntu/arm64/latest/amazon-cloudwatch-agent.deb.sig",
        mirror + "/assets/amazon-cloudwatch-agent.gpg",
    ]


def test_without_a_region_everything_comes_from_the_global_bucket():
    downloads = render("_cloudwatch_agent_downloads")
    assert [item["url"] for item in downloads] == [
        GLOBAL + "/debian/amd64/latest/amazon-cloudwatch-agent.deb",
        GLOBAL + "/debian/amd64/latest/amazon-cloudwatch-agent.deb.sig",
        GLOBAL + "/assets/amazon-cloudwatch-agent.gpg",
    ]


def test_a_mirror_and_a_version_move_every_download():
    downloads = render("_cloudwatch_agent_downloads", cloudwatch_agent_package_base_url="http://mirror.internal/cwagent/",
                       cloudwatch_agent_version="1.300071.0b1234")
    assert [item["url"] for item in downloads] == [
        "http://mirror.internal/cwagent/debian/amd64/1.300071.0b1234/amazon-cloudwatch-agent.deb",
        "http://mirror.internal/cwagent/debian/amd64/1.300071.0b1234/amazon-cloudwatch-agent.deb.sig",
        "http://mirror.internal/cwagent/assets/amazon-cloudwatch-agent.gpg",
    ]
    # Each version has its own cached file: a pinned version never compares with "latest".
    assert downloads[0]["dest"].endswith("/amazon-cloudwatch-agent-1.300071.0b1234.deb")


def test_the_pinned_fingerprint_is_the_aws_one_without_spaces():
    assert render("_cloudwatch_agent_fingerprint") == "937616F3450B7D806CBD9725D58167303B789C72"


def test_the_applied_copy_is_where_fetch_config_puts_it():
    assert render("_cloudwatch_agent_applied_config", cloudwatch_agent_config_file="/etc/my stack/cw:agent.json") == (
        "/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.d/file_cw_agent.json")


def check(tmp_path, schema, config):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    return subprocess.run([sys.executable, str(CHECKER), str(schema), str(path)], capture_output=True, text=True, check=False)


def test_the_config_checker_accepts_the_reference_samples(tmp_path, cloudwatch_reference):
    for sample in sorted((cloudwatch_reference / "examples").glob("*.json")):
        result = check(tmp_path, cloudwatch_reference / "schema.json", json.loads(sample.read_text()))
        assert (result.returncode, result.stdout) == (0, ""), sample.name


def test_the_config_checker_names_each_violation(tmp_path, cloudwatch_reference):
    config = {"logs": {"logs_collected": {"files": {"collect_list": [{"file_path": "/var/log/" + "x" * 5000}]}},
                       "unknown": 1}}
    result = check(tmp_path, cloudwatch_reference / "schema.json", config)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("logs: Additional properties are not allowed ('unknown' was unexpected)")
    # A long value is shortened, and the rule it breaks is kept.
    assert lines[1].startswith("logs/logs_collected/files/collect_list/0/file_path: '/var/log/xxx")
    assert lines[1].endswith("is too long")
    assert len(lines[1]) < 400
