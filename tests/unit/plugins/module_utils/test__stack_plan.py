"""Unit tests for the plan of a stack (plugins/module_utils/_stack.py: plan_stack and what it derives)."""

from __future__ import annotations

import json

import pytest

from ansible_collections.spotkit.ec2.plugins.action.stack_plan import instance_role_variables
from ansible_collections.spotkit.ec2.plugins.module_utils._stack import StackError, canonical_rules, plan_stack

ALLOWED = instance_role_variables()

BLOG = {"name": "blog", "image": "caddy:2", "ports": ["80:80", "443:443", "443:443/udp"]}
API = {"name": "api", "image": "api:1", "env": {"TOKEN": "s3cr3t"}, "command": ["serve"], "pull": "missing",
       "log_retention_days": 7}
VALID = {
    "spot_region": "eu-west-1",
    "spot_services": [BLOG, API],
    "spot_instance_types": ["t4g.nano", "t4g.micro"],
    "spot_image_id": "",
    "spot_domain": "Blog.Example.com.",
    "spot_hosted_zone": "",
    "spot_ssh_cidrs": ["203.0.113.7/32", "2001:db8::/48"],
    "spot_key_name": "admin",
    "spot_instance_vars": {"docker_daemon_options": {"debug": True}},
    "spot_pull_repo": "https://example.com/site.git",
    "spot_pull_version": "main",
    "spot_endpoint_url": "",
    "spot_instance_endpoint_url": "",
    "spot_endpoint_access_key": "",
    "spot_endpoint_secret_key": "",
    "spot_root_volume_size": 10,
}


def plan(**changes):
    return plan_stack("shop", dict(VALID, **changes), ALLOWED)


def test_names_tags_and_the_instance_types_traits():
    result = plan()
    assert (result["stack"], result["name"], result["tag_key"]) == ("shop", "spotkit-shop", "spotkit:stack")
    assert result["tags"] == {"spotkit:stack": "shop", "Name": "spotkit-shop"}
    assert (result["architecture"], result["burstable"]) == ("arm64", True)
    assert result["image_parameter"] == "/aws/service/debian/release/13/latest/arm64"
    assert plan(spot_instance_types=["c5.large"])["image_parameter"] == "/aws/service/debian/release/13/latest/amd64"
    assert plan(spot_instance_types=["c5.large"])["burstable"] is False


def test_dns_names_are_normalised_and_empty_without_a_domain():
    assert (plan()["domain"], plan()["zone"]) == ("blog.example.com", "example.com")
    assert (plan(spot_domain="")["domain"], plan(spot_domain="")["zone"]) == ("", "")


def test_security_group_opens_the_services_ports_to_all_and_ssh_only_to_the_cidrs():
    rules = plan()["security_group_rules"]
    # In canonical order, as stack_info reports the rules it finds.
    assert rules == canonical_rules(rules)
    assert canonical_rules(rules) == canonical_rules([
        {"proto": "tcp", "ports": [80], "cidr_ip": "0.0.0.0/0", "rule_desc": "blog"},
        {"proto": "tcp", "ports": [443], "cidr_ip": "0.0.0.0/0", "rule_desc": "blog"},
        {"proto": "udp", "ports": [443], "cidr_ip": "0.0.0.0/0", "rule_desc": "blog"},
        {"proto": "tcp", "ports": [22], "cidr_ip": "203.0.113.7/32", "rule_desc": "ssh"},
        {"proto": "tcp", "ports": [22], "cidr_ipv6": "2001:db8::/48", "rule_desc": "ssh"},
    ])
    assert [rule for rule in plan(spot_ssh_cidrs=[])["security_group_rules"] if rule["ports"] == [22]] == []


def test_a_port_on_the_instances_loopback_opens_nothing():
    services = [{"name": "uptime", "image": "uptime:1", "ports": ["127.0.0.1:3001:3001"]}]
    assert plan(spot_services=services, spot_ssh_cidrs=[], spot_key_name="")["security_group_rules"] == []


def test_log_groups_one_per_service_with_its_retention_and_the_system_and_pull_logs():
    assert plan()["log_groups"] == [
        {"name": "/spotkit/shop/blog", "retention": 30},
        {"name": "/spotkit/shop/api", "retention": 7},
        {"name": "/spotkit/shop/system", "retention": 30},
        {"name": "/spotkit/shop/ansible-pull", "retention": 30},
    ]


def test_settings_hold_the_services_without_env_and_the_instance_vars_under_the_stack_settings():
    result = plan(spot_instance_vars={"docker_daemon_options": {"debug": True}})
    assert result["settings"] == {
        "docker_daemon_options": {"debug": True},
        "spot_stack": "shop",
        "spot_region": "eu-west-1",
        "spot_pull_repo": "https://example.com/site.git",
        "spot_pull_version": "main",
        "spot_env_parameter": "/spotkit/shop/env",
        "spot_services": [
            {"name": "blog", "image": "caddy:2", "ports": ["80:80", "443:443", "443:443/udp"], "volumes": [], "pull": "always",
             "log_retention_days": 30, "memory": "256m", "pids_limit": 256, "cap_add": [], "read_only": False},
            {"name": "api", "image": "api:1", "ports": [], "volumes": [], "command": ["serve"], "pull": "missing",
             "log_retention_days": 7, "memory": "256m", "pids_limit": 256, "cap_add": [], "read_only": False},
        ],
    }
    assert (result["env_parameter"], result["env_services"]) == ("/spotkit/shop/env", ["api"])


def test_no_env_no_env_parameter_in_the_settings():
    result = plan(spot_services=[BLOG])
    assert "spot_env_parameter" not in result["settings"]
    assert result["env_services"] == []


@pytest.mark.parametrize("changes, parameters", [
    ({}, ["/spotkit/shop/env"]),
    ({"spot_services": [BLOG]}, []),
    ({"spot_services": [BLOG], "spot_pull_credential": "/spotkit/shop/deploy-key"}, ["/spotkit/shop/deploy-key"]),
    ({"spot_pull_credential": "/spotkit/shop/deploy-key"}, ["/spotkit/shop/env", "/spotkit/shop/deploy-key"]),
])
def test_the_instance_may_read_the_parameters_it_uses_and_no_other(changes, parameters):
    assert plan(**changes)["instance_parameters"] == parameters


def test_the_instance_endpoint_reaches_the_settings_only_when_set():
    assert "spot_endpoint_url" not in plan(spot_endpoint_url="http://127.0.0.1:4566")["settings"]
    result = plan(spot_endpoint_url="http://127.0.0.1:4566", spot_instance_endpoint_url="http://host.test:4566")
    assert result["settings"]["spot_endpoint_url"] == "http://host.test:4566"


def test_no_secret_anywhere_in_the_plan():
    result = plan(spot_endpoint_url="http://127.0.0.1:4566", spot_endpoint_access_key="key",
                  spot_endpoint_secret_key="shh-secret-key")
    text = json.dumps(result)
    assert "s3cr3t" not in text and "shh-secret-key" not in text


def test_every_broken_rule_is_reported_at_once():
    with pytest.raises(StackError) as error:
        plan_stack("Shop", dict(VALID, spot_region="nowhere", spot_instance_types=["t4g.nano", "t3.nano"],
                                spot_ssh_cidrs=["x"], spot_pull_repo=""), ALLOWED)
    errors = error.value.errors
    assert len(errors) == 5, errors
    assert errors[0].startswith("the stack name (inventory hostname) must be") and "'Shop'" in errors[0]
    assert "spot_region" in errors[1] and "'nowhere'" in errors[1]
    assert "spot_instance_types" in errors[2]
    assert "spot_ssh_cidrs[0]" in errors[3] and "'x'" in errors[3]
    assert "spot_pull_repo must be the git URL of your project" in errors[4]
    assert str(error.value) == "; ".join(errors)


@pytest.mark.parametrize("variable,value,fragment", [
    ("spot_services", [{"name": "blog", "image": "x", "ports": ["22:22"]}], "reserved for SSH"),
    ("spot_services", [{"name": "blog", "image": "x", "volumes": ["data"]}], "spot_services[0] (blog): field 'volumes'"),
    ("spot_services", [{"name": "blog", "image": "x", "env": {"KEY": "two\nlines"}}], "must be a single line"),
    ("spot_services", [], "at least one service"),
    ("spot_image_id", "ami-1", "spot_image_id"),
    ("spot_domain", "under_score.example.com", "spot_domain must be a DNS name"),
    ("spot_instance_vars", {"spot_x": 1}, "'spot_x'"),
    ("spot_instance_vars", {"ansible_python_interpreter": "/usr/bin/python3"}, "'ansible_python_interpreter' is not a variable"),
    ("spot_instance_vars", {"_container_service_marker": "x"}, "'_container_service_marker' is not a variable"),
    ("spot_instance_vars", {"container_service_services": []}, "'container_service_services' is not a variable"),
    ("spot_instance_vars", {"eip_stack": "other"}, "'eip_stack' is not a variable"),
    ("spot_domain", "203.0.113.7", "spot_domain must be a DNS name, not an address; got '203.0.113.7'"),
    ("spot_pull_repo", "http://example.com/site.git", "spot_pull_repo must be an https://"),
    ("spot_pull_repo", "https://user:hunter2@example.com/site.git", "spot_pull_repo must not hold credentials"),
    ("spot_pull_credential", "/spotkit/other/key", "spot_pull_credential must be the name of an SSM parameter under /spotkit/shop/"),
    ("spot_pull_verify", ["ssh-ed25519 AAAA"], "spot_pull_verify[0] must be a line of an SSH allowed signers file"),
    ("spot_pull_verify", "you@example.com ssh-ed25519 AAAA", "spot_pull_verify must be a list"),
    ("spot_alarm_email", ["ops@example.com", "not an address"], "spot_alarm_email must hold e-mail addresses"),
    ("spot_pull_version", "", "spot_pull_version"),
    ("spot_endpoint_access_key", "key", "spot_endpoint_access_key and spot_endpoint_secret_key go together"),
    ("spot_services", [{"name": "blog", "image": "x", "memory": "5m"}], "spot_services[0] (blog): field 'memory'"),
    ("spot_services", [{"name": "blog", "image": "x", "cap_add": ["ALL"]}], "spot_services[0] (blog): field 'cap_add'"),
    ("spot_root_volume_size", 0, "spot_root_volume_size must be a whole number of GiB from 1 to 16384 (gp3); got 0"),
])
def test_each_variable_is_checked(variable, value, fragment):
    with pytest.raises(StackError) as error:
        plan(**{variable: value})
    assert len(error.value.errors) == 1 and fragment in error.value.errors[0], error.value.errors


def test_a_stack_that_goes_needs_no_project():
    plan(spot_state="absent", spot_pull_repo="")
    with pytest.raises(StackError, match="spot_pull_repo must be the git URL of your project"):
        plan(spot_state="present", spot_pull_repo="")


def test_missing_required_variables_are_errors():
    with pytest.raises(StackError) as error:
        plan_stack("blog", {}, ALLOWED)
    for variable in ("spot_region", "spot_services", "spot_instance_types", "spot_pull_repo"):
        assert any(variable in message for message in error.value.errors), variable


@pytest.mark.parametrize("size,ok", [(1, True), (10, True), (16384, True), (0, False), (16385, False), (True, False),
                                     ("10", False), (None, False)])
def test_the_root_volume_size_is_a_gp3_size(size, ok):
    if ok:
        plan(spot_root_volume_size=size)
    else:
        with pytest.raises(StackError, match="spot_root_volume_size must be a whole number of GiB"):
            plan(spot_root_volume_size=size)


def test_a_plan_without_a_root_volume_size_leaves_it_to_the_role():
    plan_stack("shop", {key: value for key, value in VALID.items() if key != "spot_root_volume_size"}, ALLOWED)


def test_a_credential_in_the_url_is_never_repeated():
    with pytest.raises(StackError) as error:
        plan(spot_pull_repo="https://x-access-token:ghp_s3cr3tT0ken@github.com/you/site.git")
    assert "s3cr3t" not in str(error.value)


def test_the_on_instance_roles_variables_are_allowed_in_instance_vars():
    result = plan(spot_instance_vars={"docker_daemon_options": {"debug": True}, "cloudwatch_agent_version": "latest",
                                      "ansible_pull_interval": "30min", "container_service_pull_timeout": 60})
    assert result["settings"]["ansible_pull_interval"] == "30min"
    assert {"docker_daemon_options", "cloudwatch_agent_version", "eip_retries", "system_journald_max_use"} <= ALLOWED
    assert not {"ansible_python_interpreter", "container_service_services", "ansible_pull_repo_url"} & ALLOWED


def test_the_pull_credential_and_alarm_addresses_reach_the_plan():
    result = plan(spot_pull_credential="/spotkit/shop/deploy-key", spot_alarm_email="ops@example.com")
    assert result["settings"]["spot_pull_credential"] == "/spotkit/shop/deploy-key"
    assert result["alerting"]["emails"] == ["ops@example.com"]
    assert plan(spot_alarm_email=["a@example.com", "b@example.org"])["alerting"]["emails"] == ["a@example.com", "b@example.org"]
    assert plan()["alerting"]["emails"] == [] and "spot_pull_credential" not in plan()["settings"]


SIGNER = "you@example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPAskU3dVtXfNKW/Yenf6lJI7IOSQO1jXYZblPQtFuwt"


def test_the_allowed_signers_reach_the_settings_only_when_set():
    assert plan(spot_pull_verify=[" " + SIGNER + " "])["settings"]["spot_pull_verify"] == [SIGNER]
    assert "spot_pull_verify" not in plan()["settings"] and "spot_pull_verify" not in plan(spot_pull_verify=[])["settings"]


def test_a_project_on_the_instance_itself_takes_no_credential():
    with pytest.raises(StackError, match="spot_pull_credential is for a project reached over https:// or SSH"):
        plan(spot_pull_repo="file:///srv/spotkit/project.git", spot_pull_credential="/spotkit/shop/deploy-key")


def test_the_pull_credential_and_the_signers_are_set_by_the_play_not_by_instance_vars():
    assert not {"ansible_pull_credential_parameter", "ansible_pull_allowed_signers"} & ALLOWED
    assert "ansible_pull_known_hosts" in ALLOWED


def test_the_stack_image_is_baked_unless_turned_off():
    image = plan()["image"]
    assert image["bake"] is True and image["keep"] == 2 and image["bake_timeout"] == 1800
    assert image["builder_name"] == "spotkit-shop-builder"
    assert plan(spot_image_bake=False)["image"]["bake"] is False
    assert plan(spot_image_keep=5)["image"]["keep"] == 5


@pytest.mark.parametrize("value,expected", [(True, True), (False, False), ("true", True), ("no", False), ("On", True), (None, True)])
def test_spot_image_bake_takes_booleans_and_their_words(value, expected):
    assert plan(spot_image_bake=value)["image"]["bake"] is expected


@pytest.mark.parametrize("variable,value,message", [
    ("spot_image_bake", "sometimes", "spot_image_bake must be true or false; got 'sometimes'"),
    ("spot_image_bake", 1, "spot_image_bake must be true or false; got 1"),
    ("spot_image_keep", 0, "spot_image_keep must be a whole number of images from 1 to 100; got 0"),
    ("spot_image_keep", 101, "got 101"),
    ("spot_image_keep", True, "got True"),
    ("spot_image_keep", "two", "got 'two'"),
    ("spot_image_bake_timeout", 59, "spot_image_bake_timeout must be a whole number of seconds from 60 to 14400; got 59"),
    ("spot_image_bake_timeout", 1.5, "got 1.5"),
])
def test_bad_stack_image_variables_are_named_with_their_value(variable, value, message):
    with pytest.raises(StackError) as error:
        plan(**{variable: value})
    assert any(message in text for text in error.value.errors), error.value.errors


def test_numbers_from_the_command_line_are_taken():
    image = plan(spot_image_keep="3", spot_image_bake_timeout="600")["image"]
    assert (image["keep"], image["bake_timeout"]) == (3, 600)


def test_the_lock_is_the_stacks_parameter_and_goes_stale_after_an_hour():
    assert plan()["lock"] == {"parameter": "/spotkit/shop/lock", "timeout": 3600}
    assert plan(spot_lock_timeout="2400")["lock"]["timeout"] == 2400
    assert plan(spot_lock_timeout="600", spot_image_bake=False)["lock"]["timeout"] == 600


@pytest.mark.parametrize("changes,message", [
    ({"spot_lock_timeout": 299}, "spot_lock_timeout must be a whole number of seconds from 300 to 86400; got 299"),
    ({"spot_lock_timeout": 86401}, "got 86401"),
    ({"spot_lock_timeout": False}, "got False"),
    # A run that bakes holds the lock through the bake: a shorter lock would look stale to the next run.
    ({"spot_image_bake_timeout": 3600}, "spot_lock_timeout (3600) must be longer than spot_image_bake_timeout (3600)"),
    ({"spot_lock_timeout": 1800}, "spot_lock_timeout (1800) must be longer than spot_image_bake_timeout (1800)"),
])
def test_bad_lock_timeouts_are_named_with_their_value(changes, message):
    with pytest.raises(StackError) as error:
        plan(**changes)
    assert any(message in text for text in error.value.errors), error.value.errors


def test_a_long_bake_timeout_needs_no_longer_lock_when_the_stack_bakes_nothing():
    assert plan(spot_image_bake=False, spot_image_bake_timeout=7200)["lock"]["timeout"] == 3600


@pytest.mark.parametrize("parameter", ["/spotkit/shop/lock", "/spotkit/shop/env"])
def test_the_pull_credential_is_not_a_parameter_that_spotkit_writes(parameter):
    with pytest.raises(StackError) as error:
        plan(spot_pull_credential=parameter)
    assert any("spot_pull_credential must not be %s" % parameter in text for text in error.value.errors), error.value.errors


# --- The state bucket

STATEFUL = dict(BLOG, volumes=["/var/lib/caddy:/data"], state=["/var/lib/caddy"])


def test_a_stack_has_a_state_bucket_only_when_a_service_declares_state():
    assert plan()["state_bucket"]["enabled"] is False
    bucket = plan(spot_services=[STATEFUL, API])["state_bucket"]
    assert bucket == {"enabled": True, "name": "", "prefix": "spotkit-shop-eu-west-1-", "exists_possibly": True, "keep": False,
                      "noncurrent_days": 30, "key_prefix": "state/"}
    named = plan(spot_services=[STATEFUL], spot_state_bucket="shop-state", spot_state_keep_bucket="yes",
                 spot_state_noncurrent_days="7")["state_bucket"]
    assert (named["name"], named["keep"], named["noncurrent_days"]) == ("shop-state", True, 7)


def test_a_default_bucket_name_over_63_characters_needs_spot_state_bucket():
    long_stack = "a" * 32
    with pytest.raises(StackError) as error:
        plan_stack(long_stack, dict(VALID, spot_services=[STATEFUL], spot_region="ap-southeast-1"), ALLOWED)
    assert error.value.errors == [
        "spot_state_bucket is empty, and the state bucket's default name spotkit-%s-ap-southeast-1-<account id> would be 68 "
        "characters, over S3's 63; "
        "set spot_state_bucket to a name of your own" % long_stack]
    # Without state, no bucket: nothing to refuse, and teardown looks for none.
    result = plan_stack(long_stack, dict(VALID, spot_region="ap-southeast-1"), ALLOWED)["state_bucket"]
    assert (result["enabled"], result["exists_possibly"]) == (False, False)
    named = plan_stack(long_stack, dict(VALID, spot_services=[STATEFUL], spot_region="ap-southeast-1", spot_state_bucket="shop"), ALLOWED)
    assert named["state_bucket"]["name"] == "shop"


@pytest.mark.parametrize("variable, value, message", [
    ("spot_state_bucket", "x" * 64, "spot_state_bucket must be an S3 bucket name: 3-63 lowercase letters"),
    ("spot_state_bucket", "ab", "spot_state_bucket must be an S3 bucket name"),
    ("spot_state_bucket", "Shop-State", "got 'Shop-State'"),
    ("spot_state_bucket", "shop.state", "no '.', which breaks HTTPS"),
    ("spot_state_bucket", "shop_state", "got 'shop_state'"),
    ("spot_state_bucket", "-shop", "starting and ending with a letter or digit"),
    ("spot_state_bucket", ["shop"], "got ['shop']"),
    ("spot_state_bucket", "xn--shop", "must not start with xn--, sthree-, amzn-s3-demo- or end with"),
    ("spot_state_bucket", "shop-s3alias", "which S3 reserves; got 'shop-s3alias'"),
    ("spot_state_keep_bucket", "maybe", "spot_state_keep_bucket must be true or false; got 'maybe'"),
    ("spot_state_noncurrent_days", 0, "spot_state_noncurrent_days must be a whole number of days from 1 to 3650; got 0"),
    ("spot_state_noncurrent_days", 3651, "got 3651"),
    ("spot_state_noncurrent_days", 1.5, "got 1.5"),
    ("spot_state_noncurrent_days", True, "got True"),
])
def test_bad_state_bucket_variables_are_refused_by_name(variable, value, message):
    with pytest.raises(StackError) as error:
        plan(**{"spot_services": [STATEFUL], variable: value})
    [only] = error.value.errors
    assert only.startswith(variable) or "spot_state_bucket" in only
    assert message in only


def test_the_settings_leave_the_bucket_to_provisioning():
    # Its default name holds the account, which only AWS knows: the role adds spot_state_bucket to the settings.
    assert "spot_state_bucket" not in plan(spot_services=[STATEFUL])["settings"]
    assert plan(spot_services=[STATEFUL])["settings"]["spot_services"][0]["state"] == ["/var/lib/caddy"]


# --- Access without SSH: Session Manager by default, Tailscale on request ------------------------------------------

TAILSCALE = {"spot_tailscale": True, "spot_tailscale_auth_parameter": "/spotkit/shop/tailscale"}


@pytest.mark.parametrize("changes,fragment", [
    ({"spot_tailscale": True}, "spot_tailscale is true but spot_tailscale_auth_parameter is empty"),
    ({"spot_tailscale": True, "spot_tailscale_auth_parameter": "/spotkit/other/tailscale"},
     "spot_tailscale_auth_parameter must be the name of an SSM parameter under /spotkit/shop/"),
    ({"spot_tailscale": True, "spot_tailscale_auth_parameter": "/spotkit/shop/env"},
     "spot_tailscale_auth_parameter must not be /spotkit/shop/env"),
    ({"spot_tailscale_ssh": True}, "spot_tailscale_ssh is true but spot_tailscale is false"),
    ({"spot_tailscale": "yes", "spot_tailscale_auth_parameter": "/spotkit/shop/tailscale"}, "spot_tailscale must be true or false; got 'yes'"),
    ({"spot_session_manager": "no"}, "spot_session_manager must be true or false; got 'no'"),
])
def test_access_variables_are_checked(changes, fragment):
    with pytest.raises(StackError) as error:
        plan(**changes)
    assert len(error.value.errors) == 1 and fragment in error.value.errors[0], error.value.errors


def test_session_manager_by_default_and_the_default_settings_unchanged():
    result = plan()
    assert result["access"] == {"session_manager": True, "tailscale": None}
    # A stack that keeps the defaults keeps its settings, so its user-data: no instance refresh on upgrade.
    assert not {"spot_session_manager", "spot_tailscale"} & set(result["settings"])
    assert plan(spot_session_manager=False)["settings"]["spot_session_manager"] is False


def test_tailscale_gets_its_parameter_by_name_only():
    result = plan(spot_tailscale_ssh=True, **TAILSCALE)
    expected = {"auth_parameter": "/spotkit/shop/tailscale", "ssh": True, "hostname": "spotkit-shop", "tag": "tag:spotkit-shop"}
    assert result["access"]["tailscale"] == expected
    assert result["settings"]["spot_tailscale"] == expected
    # The instance role may read it, by name.
    assert result["instance_parameters"] == ["/spotkit/shop/env", "/spotkit/shop/tailscale"]
    # Without spot_tailscale a parameter named by mistake is not readable.
    assert "/spotkit/shop/tailscale" not in plan(spot_tailscale_auth_parameter="/spotkit/shop/tailscale")["instance_parameters"]
