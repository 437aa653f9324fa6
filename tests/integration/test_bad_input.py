"""Invalid stacks: each fails with a message that names the variable and the bad value, and nothing is created.

All cases run as the hosts of one inventory, in one playbook run. Most must fail before the first AWS
call (argument spec or preflight); the last few can only be known by asking AWS, and must fail in the
read-only lookups, before the first resource is created.
"""

from __future__ import annotations

import copy
import json

import pytest

from stacks import IMAGES, REGION

ARGUMENT_SPEC = "Validating arguments against arg spec 'main' - Provision one stack on AWS, or remove it"
PREFLIGHT = {ARGUMENT_SPEC, "Check the stack's variables against the stack API", "Check that the user-data fits in EC2's 16 KB",
             "Check that the instance's ansible-core is the version the hashed requirements pin"}
LOOKUP = {"Check that the image parameter exists", "Check that the image exists and matches the instance types",
          "Check that the hosted zone exists"}

WEB = {"name": "web", "image": "docker.io/library/nginx:1", "ports": ["80:80"]}


def services(*changes):
    """spot_services: the web service with `changes` applied, and further services as given."""
    first = dict(WEB, **changes[0]) if changes else dict(WEB)
    return [first] + [dict(WEB, **more) for more in changes[1:]]


def without(mapping, key):
    return {k: v for k, v in mapping.items() if k != key}


# id: (stack name, variables over a valid stack, what the message must contain, where it must fail)
CASES = {
    "stack name": ("Bad_Name", {}, ["stack name", "'Bad_Name'"], PREFLIGHT),
    "service name": ("svc-name", {"spot_services": services({"name": "Web!"})}, ["spot_services[0]", "'Web!'"], PREFLIGHT),
    "duplicate service": ("svc-dup", {"spot_services": services({}, {"ports": ["81:80"]})},
                          ["spot_services[1] (web)", "'web' is already used"], PREFLIGHT),
    "reserved service name": ("svc-reserved", {"spot_services": services({"name": "syslog"})},
                              ["spot_services[0] (syslog)", "'syslog' is reserved"], PREFLIGHT),
    "no image": ("svc-image", {"spot_services": [without(WEB, "image")]}, ["missing required arguments: image", "spot_services"], PREFLIGHT),
    "no service": ("svc-none", {"spot_services": []}, ["spot_services", "[]"], PREFLIGHT),
    "port out of range": ("port-range", {"spot_services": services({"ports": ["70000:80"]})},
                          ["spot_services[0] (web): field 'ports'", "'70000:80'", "1-65535"], PREFLIGHT),
    "malformed port": ("port-form", {"spot_services": services({"ports": ["80-80"]})},
                       ["spot_services[0] (web): field 'ports'", "'80-80'"], PREFLIGHT),
    "host port twice": ("port-twice", {"spot_services": services({}, {"name": "api"})},
                        ["spot_services[1] (api): field 'ports' item '80:80'", "already published by spot_services[0] (web)"], PREFLIGHT),
    "ssh port": ("port-ssh", {"spot_services": services({"ports": ["22:2222"]})},
                 ["spot_services[0] (web): field 'ports' item '22:2222'", "reserved for SSH"], PREFLIGHT),
    "retention": ("retention", {"spot_services": services({"log_retention_days": 31})},
                  ["log_retention_days", "got: 31", "spot_services"], PREFLIGHT),
    "volume": ("volume", {"spot_services": services({"volumes": ["data"]})},
               ["spot_services[0] (web): field 'volumes'", "'data'"], PREFLIGHT),
    "env name": ("env-name", {"spot_services": services({"env": {"BAD-NAME": "x"}})},
                 ["spot_services[0] (web): field 'env'", "'BAD-NAME'"], PREFLIGHT),
    "memory": ("memory", {"spot_services": services({"memory": "4m"})},
               ["spot_services[0] (web): field 'memory'", "at least 6m", "'4m'"], PREFLIGHT),
    "pids limit": ("pids-limit", {"spot_services": services({"pids_limit": 0})},
                   ["spot_services[0] (web): field 'pids_limit'", "from 1 to 4194304", "got 0"], PREFLIGHT),
    # The argument spec knows the capabilities too; it answers first.
    "capability": ("capability", {"spot_services": services({"cap_add": ["CAP_CHOWN"]})},
                   ["cap_add", "CAP_CHOWN", "spot_services"], PREFLIGHT),
    "capability twice": ("capability-twice", {"spot_services": services({"cap_add": ["CHOWN", "CHOWN"]})},
                         ["spot_services[0] (web): field 'cap_add' lists a capability twice", "['CHOWN', 'CHOWN']"], PREFLIGHT),
    "read only": ("read-only", {"spot_services": services({"read_only": "sometimes"})},
                  ["read_only", "sometimes", "spot_services"], PREFLIGHT),
    "root volume": ("root-volume", {"spot_root_volume_size": 20000},
                    ["spot_root_volume_size must be a whole number of GiB from 1 to 16384", "got 20000"], PREFLIGHT),
    "architectures": ("arch-mix", {"spot_instance_types": ["t4g.nano", "t3.micro"]},
                      ["spot_instance_types", "t4g.nano (arm64)", "t3.micro (x86_64)"], PREFLIGHT),
    "burstable mix": ("burst-mix", {"spot_instance_types": ["t4g.nano", "m7g.medium"]},
                      ["spot_instance_types", "'m7g.medium'"], PREFLIGHT),
    "instance type": ("type-form", {"spot_instance_types": ["tiny"]}, ["spot_instance_types[0]", "'tiny'"], PREFLIGHT),
    "region": ("region", {"spot_region": "mars-1"}, ["spot_region", "'mars-1'"], PREFLIGHT),
    "image id": ("image-form", {"spot_image_id": "ami-xyz"}, ["spot_image_id", "'ami-xyz'"], PREFLIGHT),
    "domain outside zone": ("domain-zone", {"spot_domain": "blog.example.org", "spot_hosted_zone": "example.com"},
                            ["spot_domain 'blog.example.org'", "spot_hosted_zone 'example.com'"], PREFLIGHT),
    "ssh cidr": ("ssh-cidr", {"spot_ssh_cidrs": ["10.0.0.300/32"]}, ["spot_ssh_cidrs[0]", "'10.0.0.300/32'"], PREFLIGHT),
    "ssh without a key": ("ssh-key", {"spot_ssh_cidrs": ["203.0.113.7/32"]},
                          ["spot_ssh_cidrs ['203.0.113.7/32'] opens port 22, but spot_key_name is empty"], PREFLIGHT),
    "tailscale without its secret": ("tailscale", {"spot_tailscale": True},
                                     ["spot_tailscale is true but spot_tailscale_auth_parameter is empty"], PREFLIGHT),
    "instance vars key": ("vars-key", {"spot_instance_vars": {"spot_region": "x"}}, ["spot_instance_vars", "'spot_region'"], PREFLIGHT),
    "state": ("state", {"spot_state": "gone"}, ["spot_state", "got: gone"], PREFLIGHT),
    "no project": ("no-project", {"spot_pull_repo": ""}, ["spot_pull_repo", "got ''"], PREFLIGHT),
    "image reference": ("image-ref", {"spot_services": services({"image": "Blog:latest"})},
                        ["spot_services[0] (web): field 'image'", "'Blog:latest'"], PREFLIGHT),
    "image digest": ("image-digest", {"spot_services": services({"image": "blog@sha256:abc"})},
                     ["spot_services[0] (web): field 'image'", "'blog@sha256:abc'", "64"], PREFLIGHT),
    "own unit name": ("svc-own", {"spot_services": services({"name": "spotkit-pull"})},
                      ["spot_services[0] (spotkit-pull)", "'spotkit-pull' is reserved"], PREFLIGHT),
    "docker socket": ("sock", {"spot_services": services({"volumes": ["/var/run/docker.sock:/var/run/docker.sock"]})},
                      ["spot_services[0] (web): field 'volumes'", "/var/run/docker.sock", "allow_system_mounts"], PREFLIGHT),
    "volume option": ("vol-opt", {"spot_services": services({"volumes": ["/srv:/srv:rx"]})},
                      ["spot_services[0] (web): field 'volumes'", "'/srv:/srv:rx'"], PREFLIGHT),
    "relative state": ("state-rel", {"spot_services": services({"volumes": ["/srv/web:/data"], "state": ["srv/web"]})},
                       ["spot_services[0] (web): field 'state' item 'srv/web'", "absolute"], PREFLIGHT),
    "state outside the volumes": ("state-out", {"spot_services": services({"volumes": ["/srv/web:/data"], "state": ["/srv/db"]})},
                                  ["spot_services[0] (web): field 'state' item '/srv/db'", "volumes (/srv/web)"], PREFLIGHT),
    "state in a system directory": (
        "state-sys", {"spot_services": services({"volumes": ["/etc/web:/data"], "allow_system_mounts": True, "state": ["/etc/web"]})},
        ["spot_services[0] (web): field 'state' item '/etc/web'", "system directory"], PREFLIGHT),
    "domain address": ("domain-ip", {"spot_domain": "203.0.113.7"}, ["spot_domain", "not an address", "'203.0.113.7'"], PREFLIGHT),
    "pull url": ("pull-url", {"spot_pull_repo": "git://example.com/site.git"}, ["spot_pull_repo", "'git://example.com/site.git'"],
                 PREFLIGHT),
    "pull credentials": ("pull-secret", {"spot_pull_repo": "https://deploy:tok3n@example.com/site.git"},
                         ["spot_pull_repo must not hold credentials"], PREFLIGHT),
    "pull credential of a local project": (
        "pull-local-key", {"spot_pull_repo": "file:///srv/site.git", "spot_pull_credential": "/spotkit/pull-local-key/key"},
        ["spot_pull_credential is for a project reached over https:// or SSH"], PREFLIGHT),
    "allowed signer": ("pull-signer", {"spot_pull_verify": ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5"]},
                       ["spot_pull_verify[0]", "'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5'"], PREFLIGHT),
    "ansible-core version": ("core-version", {"spot_ansible_core_version": "2.18.0"},
                             ["spot_ansible_core_version must be", "got \"2.18.0\""], PREFLIGHT),
    "instance vars interpreter": ("vars-interp", {"spot_instance_vars": {"ansible_python_interpreter": "/usr/bin/python3"}},
                                  ["spot_instance_vars", "'ansible_python_interpreter'"], PREFLIGHT),
    "policy arn": ("policy-arn", {"spot_instance_policy_arns": ["AmazonS3ReadOnlyAccess"]},
                   ["spot_instance_policy_arns[0]", "'AmazonS3ReadOnlyAccess'"], PREFLIGHT),
    "alarm email": ("email", {"spot_alarm_email": ["ops@example.com", "nobody"]}, ["spot_alarm_email", "'nobody'"], PREFLIGHT),
    "alarm threshold": ("threshold", {"spot_alarm_memory_percent": 150}, ["spot_alarm_memory_percent", "from 1 to 99", "got 150"],
                        PREFLIGHT),
    "pull failures": ("pull-failures", {"spot_alarm_pull_failures": 6}, ["spot_alarm_pull_failures", "from 1 to 4", "got 6"], PREFLIGHT),
    "alarm webhook": ("webhook", {"spot_alarm_webhooks": ["hooks.example.com/spotkit"]},
                      ["spot_alarm_webhooks[0]", "'hooks.example.com/spotkit'"], PREFLIGHT),
    "health check path": ("check-path", {"spot_alarm_health_check_path": "health"}, ["spot_alarm_health_check_path", "'health'"],
                          PREFLIGHT),
    "image bake": ("image-bake", {"spot_image_bake": "sometimes"}, ["spot_image_bake", "sometimes"], PREFLIGHT),
    "image keep": ("image-keep", {"spot_image_keep": 0}, ["spot_image_keep must be a whole number of images from 1 to 100", "got 0"],
                   PREFLIGHT),
    "bake timeout": ("bake-timeout", {"spot_image_bake_timeout": 5}, ["spot_image_bake_timeout", "from 60 to 14400", "got 5"],
                     PREFLIGHT),
    "unknown service field": ("svc-field", {"spot_services": services({"colour": "red"})}, ["spot_services.colour"], PREFLIGHT),
    "user-data size": ("too-big", {"spot_instance_vars": {"docker_daemon_options": {"labels": ["x" * 17000]}}},
                       ["user-data would be", "limit of 16384", "spot_instance_vars"], PREFLIGHT),
    "state bucket name": ("bucket-name", {"spot_state_bucket": "My.Bucket"}, ["spot_state_bucket must be an S3 bucket name", "'My.Bucket'"],
                          PREFLIGHT),
    "state bucket default name too long": (
        "a-stack-name-of-thirty-two-chars", {"spot_region": "ap-southeast-1", "spot_services": services({
            "volumes": ["/var/lib/web:/data"], "state": ["/var/lib/web"]})},
        ["spot_state_bucket", "spotkit-a-stack-name-of-thirty-two-chars-ap-southeast-1-<account id> would be 68 characters"], PREFLIGHT),
    "state bucket keep": ("bucket-keep", {"spot_state_keep_bucket": "maybe"}, ["spot_state_keep_bucket", "maybe"], PREFLIGHT),
    "state noncurrent days": ("bucket-days", {"spot_state_noncurrent_days": 0},
                              ["spot_state_noncurrent_days must be a whole number of days from 1 to 3650", "got 0"], PREFLIGHT),
    # Only AWS knows these: they fail in the read-only lookups.
    "unknown image": ("image-missing", {"spot_image_id": "ami-0123456789abcdef0"},
                      ["spot_image_id ami-0123456789abcdef0", "does not exist in %s" % REGION], LOOKUP),
    "image architecture": ("image-arch", {"spot_image_id": IMAGES["x86_64"]},
                           ["spot_image_id %s" % IMAGES["x86_64"], "is x86_64", "t4g.nano", "are arm64"], LOOKUP),
    "no hosted zone": ("zone-missing", {"spot_domain": "blog.nowhere.test"},
                       ["spot_hosted_zone nowhere.test", "spot_domain blog.nowhere.test"], LOOKUP),
    "two zones of the name": ("zone-twice", {"spot_domain": "blog.twice.test"},
                              ["spot_hosted_zone twice.test", "names 2 public hosted zones of this account"], LOOKUP),
    "delegated subzone": ("zone-delegated", {"spot_domain": "blog.lab.example.com", "spot_hosted_zone": "example.com"},
                          ["delegates lab.example.com to other name servers", "set spot_hosted_zone: lab.example.com"], LOOKUP),
    # The emulator publishes Debian's image parameters where moto publishes Amazon Linux's; not in this region.
    "no image parameter": ("image-param", {"spot_image_id": "", "spot_region": "mx-central-1"},
                           ["spot_image_id is empty", "/aws/service/debian/release/13/latest/arm64", "mx-central-1"], LOOKUP),
}


@pytest.fixture(scope="module")
def battery(aws):
    aws.reset()
    # Two public zones of one name, which AWS allows.
    for reference in ("first", "second"):
        aws.client("route53").create_hosted_zone(Name="twice.test", CallerReference=reference)
    # A subzone that example.com delegates elsewhere: a record for a name in it belongs there.
    route53 = aws.client("route53")
    zone_id = route53.list_hosted_zones_by_name(DNSName="example.com.")["HostedZones"][0]["Id"]
    route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": {
        "Name": "lab.example.com", "Type": "NS", "TTL": 300, "ResourceRecords": [{"Value": "ns1.elsewhere.test."}]}}]})
    valid = {"spot_region": REGION, "spot_endpoint_url": aws.url, "spot_image_id": IMAGES["arm64"], "spot_services": services(),
             "spot_pull_repo": "https://example.com/site.git"}
    stacks = {}
    for name, changes, _expected, _phase in CASES.values():
        stacks[name] = dict(copy.deepcopy(valid), **changes)
    return aws.playbook("provision", stacks)


def test_there_are_at_least_a_dozen_cases():
    assert len(CASES) >= 12
    assert len({case[0] for case in CASES.values()}) == len(CASES)


@pytest.mark.parametrize("stack,expected,phase", [(case[0], case[2], case[3]) for case in CASES.values()], ids=list(CASES))
def test_each_bad_stack_fails_naming_the_variable_and_value(battery, stack, expected, phase):
    assert battery.stats(stack)["failures"] == 1
    assert battery.stats(stack)["changed"] == 0
    task, message = battery.failure(stack)
    assert task in phase, (task, message)
    for fragment in expected:
        assert fragment in message, (fragment, message)


def test_a_credential_in_a_pull_url_appears_nowhere_in_the_output(battery):
    assert battery.stats("pull-secret")["failures"] == 1
    assert "tok3n" not in json.dumps(battery.result) + battery.stderr


def test_nothing_was_created(aws, battery):
    assert battery.rc != 0
    assert aws.tagged_resources() == []
    left = aws.inventory_of_resources()
    assert left == {key: [] for key in left}
