"""What the cloudwatch_agent scenario proves, checked on each instance after converge, idempotence,
check mode and the side effect. prepare.yml and side_effect.yml record the failure cases on the
instance (record.yml); these tests read the records."""

from __future__ import annotations

import hashlib
import json
import os
import time

AGENT = "/opt/aws/amazon-cloudwatch-agent"
CONFIG = "/etc/spotkit/amazon-cloudwatch-agent.json"
APPLIED = AGENT + "/etc/amazon-cloudwatch-agent.d/file_amazon-cloudwatch-agent.json"
CACHE = "/var/cache/spotkit/cloudwatch-agent"
RECORDS = "/var/lib/spotkit-test/cloudwatch_agent"
AWS_FINGERPRINT = "937616F3450B7D806CBD9725D58167303B789C72"
# inventory/host_vars: Debian 12 pins the version just before journald support, Debian 13 takes "latest",
# the first version with it.
VERSIONS = {"bookworm": ("1.300069.0b1180", "1.300069.0b1180"), "trixie": ("1.300070.0b1181", "latest")}
# The bucket's folder for Debian on each architecture: AWS publishes no debian/arm64 package.
PACKAGE_PATHS = {"x86_64": "debian/amd64", "aarch64": "ubuntu/arm64"}
# prepare.yml runs the case that inventory/host_vars gives each instance (test_cwagent_failure_case).
FAILURE_WORDS = {
    "wrong-key": ["cloudwatch_agent_gpg_fingerprint", AWS_FINGERPRINT, "was not installed"],
    "bad-signature": ["Bad signature", "BAD signature", "was not installed"],
}


def _version(host):
    return VERSIONS[host.system_info.codename][0]


def _bucket_folder(host):
    return VERSIONS[host.system_info.codename][1]


def _journald(host):
    return host.system_info.codename == "trixie"


def _record(host, case):
    record = host.file("%s/%s.json" % (RECORDS, case))
    assert record.exists, "no record of the case %s: did the role not fail there?" % case
    return json.loads(record.content_string)


def _config(host):
    return json.loads(host.file(CONFIG).content_string)


def _collected(host):
    return _config(host)["logs"]["logs_collected"]


def _files(host):
    return {entry["log_group_name"]: entry["file_path"] for entry in _collected(host)["files"]["collect_list"]}


def test_the_test_double_is_installed_in_the_version_asked_for(host):
    package = host.package("amazon-cloudwatch-agent")
    assert package.is_installed
    assert package.version == _version(host) + "-1"
    description = host.check_output("dpkg-query --show --showformat '${Description}' amazon-cloudwatch-agent")
    assert description.startswith("TEST DOUBLE")
    assert host.file(AGENT + "/bin/CWAGENT_VERSION").content_string.strip() == _version(host)


def test_the_package_is_the_one_the_local_bucket_serves(host):
    served = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "cwagent", "bucket",
                          PACKAGE_PATHS[host.system_info.arch], _bucket_folder(host), "amazon-cloudwatch-agent.deb")
    with open(served, "rb") as package:
        served_sha256 = hashlib.sha256(package.read()).hexdigest()
    cached = host.file("%s/amazon-cloudwatch-agent-%s.deb" % (CACHE, _bucket_folder(host)))
    assert cached.sha256sum == served_sha256
    assert host.file(cached.path + ".sig").exists


def test_the_agent_runs_and_starts_at_boot(host):
    service = host.service("amazon-cloudwatch-agent")
    assert service.is_enabled
    assert service.is_running
    status = json.loads(host.check_output(AGENT + "/bin/amazon-cloudwatch-agent-ctl -a status"))
    assert status["status"] == "running"
    assert status["configstatus"] == "configured"
    assert status["version"] == _version(host)


def test_the_config_is_applied_where_the_ctl_keeps_it(host):
    assert host.file(APPLIED).content == host.file(CONFIG).content
    assert host.file(AGENT + "/etc/amazon-cloudwatch-agent.d").listdir() == ["file_amazon-cloudwatch-agent.json"]
    assert not host.file(AGENT + "/etc/amazon-cloudwatch-agent.json").exists


def test_the_config_ships_the_stack_logs(host):
    config = _config(host)
    assert config["agent"]["region"] == "eu-west-1"
    files = _files(host)
    assert files["/spotkit/molecule/blog"] == "/var/log/blog.log"
    assert files["/spotkit/molecule/api"] == "/var/log/api.log"
    assert files["/spotkit/molecule/ansible-pull"] == "/var/log/spotkit-pull.log"


def test_the_system_log_source_follows_the_agent_version(host):
    collected = _collected(host)
    translated = host.file(AGENT + "/etc/amazon-cloudwatch-agent.toml").content_string
    if _journald(host):
        assert [entry["log_group_name"] for entry in collected["journald"]["collect_list"]] == ["/spotkit/molecule/system"]
        assert "/spotkit/molecule/system" not in _files(host)
        assert 'journald -> "/spotkit/molecule/system"' in translated
        assert not host.package("rsyslog").is_installed
    else:
        assert "journald" not in collected
        assert _files(host)["/spotkit/molecule/system"] == "/var/log/syslog"
        assert 'file "/var/log/syslog" -> "/spotkit/molecule/system"' in translated
        _assert_rsyslog_writes_the_system_log(host)


def _assert_rsyslog_writes_the_system_log(host):
    rsyslog = host.service("rsyslog")
    assert rsyslog.is_enabled
    assert rsyslog.is_running
    marker = "spotkit-cwagent-verify-%d" % time.time()
    host.check_output("logger %s" % marker)
    for _attempt in range(20):
        if marker in host.file("/var/log/syslog").content_string:
            break
        time.sleep(0.25)
    assert marker in host.file("/var/log/syslog").content_string


def test_a_wrong_key_or_a_bad_signature_fails_and_installs_nothing(host):
    case = host.ansible.get_variables()["test_cwagent_failure_case"]
    record = _record(host, case)
    for word in FAILURE_WORDS[case]:
        assert word in record["message"]
    assert record["package"] == ""
    assert record["agent_dir"] is False
    # Removed, so the next run downloads them again.
    assert record["cache"] == []


def test_check_mode_on_a_fresh_instance_installs_nothing(host):
    record = _record(host, "check-mode-fresh")
    assert record["package"] == ""
    assert record["agent_dir"] is False
    assert record["config_sha256"] == ""
    assert record["cache"] == []


def test_a_config_that_fails_the_schema_is_not_applied(host):
    before = _record(host, "before-bad-config")
    after = _record(host, "bad-config")
    assert "does not match the schema" in after["message"]
    assert "is too long" in after["message"]
    assert after["config_sha256"] == before["config_sha256"] != ""
    assert after["applied_sha256"] == before["applied_sha256"] == before["config_sha256"]
    # Not restarted.
    assert after["main_pid"] == before["main_pid"] != "0"
    assert "long-path" not in host.file(CONFIG).content_string
