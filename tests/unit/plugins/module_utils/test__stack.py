"""Unit tests for the rulebook of the stack API, plugins/module_utils/_stack.py: each rule, both sides of it."""

from __future__ import annotations

import gzip
import json
from importlib import resources

import pytest

from ansible_collections.spotkit.ec2.plugins.module_utils import _stack as stack_api

WEB = {"name": "web", "image": "nginx:1", "ports": ["80:80"]}


def svc(**fields):
    return dict(WEB, **fields)


@pytest.mark.parametrize("spec,expected", [
    ("80:8080", (80, 8080, "tcp", False)),
    ("53:53/udp", (53, 53, "udp", False)),
    ("443:443/tcp", (443, 443, "tcp", False)),
    ("1:65535", (1, 65535, "tcp", False)),
    ("127.0.0.1:3001:3001", (3001, 3001, "tcp", True)),
    ("127.0.0.1:53:53/udp", (53, 53, "udp", True)),
])
def test_parse_port(spec, expected):
    assert stack_api.parse_port("p", spec) == expected


@pytest.mark.parametrize("spec", ["80", "80:80/sctp", "0:80", "80:65536", "a:b", 80, "80:80 ", " 80:80", None,
                                  "0.0.0.0:80:80", "10.0.0.1:80:80", "127.0.0.1:80", "127.0.0.1::80"])
def test_parse_port_refuses(spec):
    with pytest.raises(ValueError, match="p"):
        stack_api.parse_port("p", spec)


def test_service_ports_lists_each_host_port_with_its_service():
    ports = stack_api.service_ports([svc(ports=["80:8080", "53:53/udp", "53:53"]), svc(name="api", ports=["8443:443"])])
    assert ports == [
        {"service": "web", "host": 80, "container": 8080, "protocol": "tcp", "loopback": False},
        {"service": "web", "host": 53, "container": 53, "protocol": "udp", "loopback": False},
        {"service": "web", "host": 53, "container": 53, "protocol": "tcp", "loopback": False},
        {"service": "api", "host": 8443, "container": 443, "protocol": "tcp", "loopback": False},
    ]


def test_a_loopback_port_takes_its_host_port_from_a_public_one():
    with pytest.raises(ValueError, match="host port 80/tcp is already published"):
        stack_api.service_ports([svc(), svc(name="api", ports=["127.0.0.1:80:9000"])])


def test_service_ports_refuses_a_host_port_twice_naming_both_services():
    with pytest.raises(ValueError) as error:
        stack_api.service_ports([svc(), svc(name="api", ports=["80:9000"])])
    assert "spot_services[1] (api): field 'ports' item '80:9000'" in str(error.value)
    assert "already published by spot_services[0] (web)" in str(error.value)


def test_the_same_port_over_tcp_and_udp_is_two_ports():
    assert len(stack_api.service_ports([svc(ports=["443:443", "443:443/udp"])])) == 2


def test_host_port_22_is_reserved_but_container_port_22_is_not():
    with pytest.raises(ValueError, match="'22:22'.*reserved for SSH"):
        stack_api.service_ports([svc(ports=["22:22"])])
    assert stack_api.service_ports([svc(ports=["2222:22"])])[0]["host"] == 2222


@pytest.mark.parametrize("services,message", [
    ([], r"at least one service; got \[\]"),
    ("web", "must be a list"),
    ([svc(image="")], "missing required field 'image'"),
    ([svc(image=["x"])], "field 'image' must be an image reference"),
    ([svc(image="blog latest")], "field 'image' must be an image reference such as registry:5000/blog:latest; got 'blog latest'"),
    ([svc(image="blog:%i")], "got 'blog:%i'"),
    ([svc(volumes="/a:/b")], "field 'volumes' must be a list of non-empty single-line strings"),
    ([svc(volumes=["/srv"])], "field 'volumes' items must be 'source:/path' or 'source:/path:options'; got '/srv'"),
    ([svc(volumes=["/srv:relative"])], "got '/srv:relative'"),
    ([svc(volumes=["a:/b:ro:x"])], "got 'a:/b:ro:x'"),
    ([svc(command=["run", 3])], "field 'command' must be a list"),
    ([svc(command="caddy run")], "field 'command' must be a list"),
    ([svc(command=["two\nlines"])], "field 'command' must be a list of non-empty single-line strings"),
    ([svc(colour="red")], "unknown field 'colour'; fields: name, image, ports"),
    ([{"name": "web"}], "missing required field 'image'"),
    ([{"image": "x"}], r"spot_services\[0\]: missing required field 'name'"),
    (["web"], r"spot_services\[0\] must be a mapping"),
    ([svc(name="Web")], "field 'name' must be lowercase"),
    ([svc(name="syslog")], "field 'name' 'syslog' is reserved"),
    ([svc(ports=["80"])], "got '80'"),
    ([svc(env={"A": "two\nlines"})], "variable A must be a single line"),
    ([svc(env={"A": None})], "variable A must be a string, number or boolean; got a NoneType"),
    ([svc(pull="sometimes")], "field 'pull' must be one of always, missing, never; got 'sometimes'"),
    ([svc(env=["A=1"])], "field 'env' must be a mapping"),
    ([svc(env={"1A": "x"})], "variable name '1A'"),
    ([svc(env={"TOKEN": {"nested": 1}})], "variable TOKEN must be a string, number or boolean; got a dict"),
    ([svc(log_retention_days=2)], "log_retention_days"),
    ([svc(ports="80:80")], "field 'ports' must be a list"),
    ([svc(), svc()], "already used"),
])
def test_check_services_refuses(services, message):
    with pytest.raises(ValueError, match=message):
        stack_api.check_services(services)


@pytest.mark.parametrize("value", [["s3cr3t"], "s3cr3t\nvalue", {"s3cr3t": 1}])
def test_check_services_never_echoes_an_env_value(value):
    with pytest.raises(ValueError) as error:
        stack_api.check_services([svc(env={"TOKEN": value})])
    assert "s3cr3t" not in str(error.value)


def test_check_services_accepts_a_full_service():
    services = [svc(env={"A": "1", "B": 2, "C": True}, volumes=["/a:/b"], command=["serve"], pull="missing",
                    log_retention_days=7, memory="1g", pids_limit=64, cap_add=["SETGID", "CHOWN"], read_only=True)]
    assert stack_api.check_services(services) is services


# Each limit at both sides of its boundaries.
@pytest.mark.parametrize("field,value", [
    ("memory", "6m"), ("memory", "256m"), ("memory", "1g"), ("memory", "1024g"),
    ("pids_limit", 1), ("pids_limit", 256), ("pids_limit", 4194304),
    ("cap_add", []), ("cap_add", ["NET_BIND_SERVICE"]), ("cap_add", list(stack_api.CAPABILITIES)),
    ("read_only", True), ("read_only", False),
])
def test_check_services_accepts_the_limits(field, value):
    stack_api.check_services([svc(**{field: value})])


@pytest.mark.parametrize("field,value,message", [
    ("memory", "5m", "field 'memory' must be a size in MiB or GiB such as 256m or 1g, at least 6m (Docker's smallest limit); got '5m'"),
    ("memory", "0g", "got '0g'"),
    ("memory", "256", "got '256'"),
    ("memory", 268435456, "got 268435456"),
    ("memory", "256M", "got '256M'"),
    ("memory", "256mb", "got '256mb'"),
    ("memory", "512k", "got '512k'"),
    ("memory", "1.5g", "got '1.5g'"),
    ("memory", "0256m", "got '0256m'"),
    ("pids_limit", 0, "field 'pids_limit' must be a whole number of processes and threads from 1 to 4194304; got 0"),
    ("pids_limit", -1, "got -1"),
    ("pids_limit", 4194305, "got 4194305"),
    ("pids_limit", True, "got True"),
    ("pids_limit", "256", "got '256'"),
    ("pids_limit", 25.6, "got 25.6"),
    ("cap_add", "CHOWN", "field 'cap_add' must be a list of capabilities such as [NET_BIND_SERVICE]; got 'CHOWN'"),
    ("cap_add", ["ALL"], "field 'cap_add': ALL would give every capability back; list the ones the service needs"),
    ("cap_add", ["CAP_CHOWN"], "field 'cap_add' item 'CAP_CHOWN' is not a capability as Docker spells it (uppercase, without CAP_)"),
    ("cap_add", ["chown"], "item 'chown' is not a capability"),
    ("cap_add", ["BPF"], "item 'BPF' is not a capability"),
    ("cap_add", [None], "item None is not a capability"),
    ("cap_add", ["CHOWN", "SETGID", "CHOWN"], "field 'cap_add' lists a capability twice; got ['CHOWN', 'SETGID', 'CHOWN']"),
    ("read_only", "true", "field 'read_only' must be true or false; got 'true'"),
    ("read_only", 1, "got 1"),
    ("read_only", None, "got None"),
])
def test_check_services_refuses_bad_limits_naming_the_service_field_and_value(field, value, message):
    with pytest.raises(ValueError) as error:
        stack_api.check_services([svc(), svc(name="api", ports=[], **{field: value})])
    assert str(error.value).startswith("spot_services[1] (api): field '%s'" % field), str(error.value)
    assert message in str(error.value)


def test_the_capabilities_are_those_of_capabilities_7_that_docker_20_10_knows():
    assert len(stack_api.CAPABILITIES) == len(set(stack_api.CAPABILITIES)) == 38
    assert list(stack_api.CAPABILITIES) == sorted(stack_api.CAPABILITIES)
    assert not {"BPF", "PERFMON", "CHECKPOINT_RESTORE", "ALL"} & set(stack_api.CAPABILITIES)


def instance_catalogue():
    """Every EC2 instance type with its architectures, as moto ships AWS's DescribeInstanceTypes data."""
    data = resources.files("moto.ec2").joinpath("resources/instance_types.json.gz").read_bytes()
    return {name: info["ProcessorInfo"]["SupportedArchitectures"] for name, info in json.loads(gzip.decompress(data)).items()}


def test_architecture_rule_matches_the_whole_instance_type_catalogue():
    catalogue = instance_catalogue()
    assert len(catalogue) > 1000
    checked = 0
    for name, archs in catalogue.items():
        family = name.split(".")[0]
        if family.startswith("mac"):
            with pytest.raises(ValueError, match="dedicated hosts"):
                stack_api.instance_family("t", name)
            continue
        expected = "arm64" if "arm64" in archs else "x86_64"
        assert stack_api.architecture(stack_api.instance_family("t", name)) == expected, name
        checked += 1
    assert checked > 1000


@pytest.mark.parametrize("family,expected", [("t2", True), ("t3", True), ("t3a", True), ("t4g", True),
                                             ("m7g", False), ("c5", False), ("trn1", False)])
def test_is_burstable(family, expected):
    assert stack_api.is_burstable(family) is expected


@pytest.mark.parametrize("types,arch", [(["t4g.nano", "t4g.micro"], "arm64"), (["t3.nano", "t3a.nano"], "x86_64"),
                                        (["c7gn.medium", "m7g.large"], "arm64"), (["a1.medium"], "arm64")])
def test_check_instance_types(types, arch):
    assert stack_api.check_instance_types(types)[0] == arch


@pytest.mark.parametrize("types,burstable", [(["t4g.nano", "t4g.micro"], True), (["t3.nano", "t3a.micro"], True),
                                             (["m7g.medium", "c7gn.medium"], False), (["c5.large"], False)])
def test_check_instance_types_tells_the_credit_model(types, burstable):
    assert stack_api.check_instance_types(types)[1] is burstable


@pytest.mark.parametrize("types,message", [
    ([], "at least one instance type"),
    ("t4g.nano", "at least one instance type"),
    (["t4g"], r"spot_instance_types\[0\] must be an EC2 instance type"),
    (["t4g.nano", "T3.micro"], r"spot_instance_types\[1\]"),
    (["t4g.nano", "t4g.nano"], "twice"),
    (["t4g.nano", "t3.nano"], r"t4g.nano \(arm64\), t3.nano \(x86_64\)"),
    (["t4g.nano", "m7g.medium"], "all burstable"),
    (["mac2.metal"], "dedicated hosts"),
])
def test_check_instance_types_refuses(types, message):
    with pytest.raises(ValueError, match=message):
        stack_api.check_instance_types(types)


@pytest.mark.parametrize("domain,zone,expected", [
    ("", "", ("", "")), (None, None, ("", "")), ("blog.example.com", "", ("blog.example.com", "example.com")),
    ("blog.example.com", "example.com", ("blog.example.com", "example.com")),
    ("Blog.Example.com.", "example.com.", ("blog.example.com", "example.com")),
    ("example.com", "example.com", ("example.com", "example.com")),
    ("a.b.example.com", "example.com", ("a.b.example.com", "example.com")),
    ("a.b.example.com", "", ("a.b.example.com", "b.example.com")),
])
def test_check_domain_accepts_and_normalises(domain, zone, expected):
    assert stack_api.check_domain(domain, zone) == expected


@pytest.mark.parametrize("domain,zone,message", [
    ("blog.example.org", "example.com", "spot_domain 'blog.example.org' is not inside spot_hosted_zone 'example.com'"),
    ("notexample.com", "example.com", "not inside"),
    ("bad_name.example.com", "", "spot_domain must be a DNS name"),
    ("blog.example.com", "-bad.com", "spot_hosted_zone must be a DNS name"),
    ("com", "", "spot_domain must be a DNS name"),
])
def test_check_domain_refuses(domain, zone, message):
    with pytest.raises(ValueError, match=message):
        stack_api.check_domain(domain, zone)


def test_check_cidrs():
    assert stack_api.check_cidrs(["203.0.113.7/32", "2001:db8::/32"]) == [(4, "203.0.113.7/32"), (6, "2001:db8::/32")]
    with pytest.raises(ValueError, match=r"spot_ssh_cidrs\[1\] .*'10.0.0.1/8'"):
        stack_api.check_cidrs(["10.0.0.0/8", "10.0.0.1/8"])
    with pytest.raises(ValueError, match="must be a list"):
        stack_api.check_cidrs("10.0.0.0/8")


def test_check_ssh_access_wants_a_key_for_an_open_port():
    assert stack_api.check_ssh_access(["203.0.113.7/32"], "admin") == [(4, "203.0.113.7/32")]
    assert stack_api.check_ssh_access([], "") == []
    with pytest.raises(ValueError, match=r"spot_ssh_cidrs \['203.0.113.7/32'\] opens port 22, but spot_key_name is empty"):
        stack_api.check_ssh_access(["203.0.113.7/32"], "")
    for bad in (None, "k" * 256, "clé"):
        with pytest.raises(ValueError, match="spot_key_name must be the name of an EC2 key pair"):
            stack_api.check_ssh_access([], bad)


@pytest.mark.parametrize("region,ok", [("eu-west-1", True), ("us-gov-west-1", True), ("ap-southeast-5", True),
                                       ("eu-west", False), ("EU-WEST-1", False), ("", False), (None, False)])
def test_check_region(region, ok):
    if ok:
        assert stack_api.check_region(region) == region
    else:
        with pytest.raises(ValueError, match="spot_region"):
            stack_api.check_region(region)


@pytest.mark.parametrize("image,ok", [("", True), (None, True), ("ami-12345678", True), ("ami-0123456789abcdef0", True),
                                      ("ami-123", False), ("ami-0123456789ABCDEF0", False), ("i-12345678", False)])
def test_check_image_id(image, ok):
    if ok:
        assert stack_api.check_image_id(image) == (image or "")
    else:
        with pytest.raises(ValueError, match="spot_image_id"):
            stack_api.check_image_id(image)


def test_check_instance_vars_allows_only_the_given_keys():
    allowed = frozenset(("docker_daemon_options", "eip_retries"))
    assert stack_api.check_instance_vars({"docker_daemon_options": {}}, allowed) == {"docker_daemon_options": {}}
    for key in ("spot_stack", "ansible_python_interpreter", "_docker_packages", "ansible_connection"):
        with pytest.raises(ValueError, match="key '%s' is not a variable the instance's roles take; allowed: "
                                             "docker_daemon_options, eip_retries" % key):
            stack_api.check_instance_vars({key: "x"}, allowed)
    with pytest.raises(ValueError, match="must be a mapping"):
        stack_api.check_instance_vars(["a"], allowed)


@pytest.mark.parametrize("region,what", [("Europe", "region"), ("eu", "cloudwatch_agent_region")])
def test_check_region_names_the_variable_it_is_given(region, what):
    with pytest.raises(ValueError, match="^%s must be an AWS region such as eu-west-1; got '%s'$" % (what, region)):
        stack_api.check_region(region, what)


@pytest.mark.parametrize("endpoint,key,secret,ok", [
    ("", "", "", True), ("http://127.0.0.1:4566", "k", "s", True), ("http://127.0.0.1:4566", "", "", True),
    ("http://127.0.0.1:4566", "k", "", False), ("http://127.0.0.1:4566", "", "s", False), ("", "k", "s", False),
])
def test_fixed_credentials_come_in_pairs_and_only_for_an_endpoint(endpoint, key, secret, ok):
    if ok:
        stack_api.check_endpoint_credentials(endpoint, key, secret)
    else:
        with pytest.raises(ValueError) as error:
            stack_api.check_endpoint_credentials(endpoint, key, secret)
        assert "spot_endpoint_access_key and spot_endpoint_secret_key go together" in str(error.value)
        # The secret key is never repeated.
        assert "'s'" not in str(error.value)


def test_public_service_fills_the_defaults_and_leaves_env_out():
    service = svc(env={"TOKEN": "s3cr3t"}, command=["serve"])
    assert stack_api.public_service(service) == {
        "name": "web", "image": "nginx:1", "ports": ["80:80"], "volumes": [], "command": ["serve"],
        "pull": "always", "log_retention_days": 30, "memory": "256m", "pids_limit": 256, "cap_add": [], "read_only": False,
    }
    assert stack_api.public_service({"name": "w", "image": "i"}) == {
        "name": "w", "image": "i", "ports": [], "volumes": [], "pull": "always", "log_retention_days": 30,
        "memory": "256m", "pids_limit": 256, "cap_add": [], "read_only": False,
    }
    assert service["env"] == {"TOKEN": "s3cr3t"}


def test_public_service_keeps_the_limits_given():
    limited = svc(memory="64m", pids_limit=32, cap_add=["SETGID"], read_only=True)
    assert {key: stack_api.public_service(limited)[key] for key in ("memory", "pids_limit", "cap_add", "read_only")} == {
        "memory": "64m", "pids_limit": 32, "cap_add": ["SETGID"], "read_only": True,
    }


def test_public_services_share_no_default_list():
    first, second = stack_api.public_service(svc()), stack_api.public_service(svc(name="api"))
    first["cap_add"].append("CHOWN")
    assert second["cap_add"] == [] and stack_api.SERVICE_DEFAULTS["cap_add"] == []


@pytest.mark.parametrize("image", [
    "nginx", "nginx:1", "docker.io/library/nginx:1.27-alpine", "ghcr.io/you/blog:latest", "registry:5000/blog",
    "localhost/blog", "localhost:5000/a/b:c", "host.spotkit.test:5001/spotkit/blog:latest", "127.0.0.1:5001/spotkit/blog",
    "[::1]:5000/x", "a__b", "a.b-c_d", "louislam/uptime-kuma:1", "web@sha256:" + "a" * 64,
    "nginx:1.2@sha256:" + "0" * 64, "x:" + "a" * 128, "a" * 255,
])
def test_image_references_docker_takes(image):
    stack_api.check_services([svc(image=image)])


@pytest.mark.parametrize("image,reason", [
    ("Nginx", "a repository path is lowercase"), ("blog latest", "a repository path is lowercase"),
    ("EXAMPLE/x", "a repository path is lowercase"), ("a//b", "a repository path"), ("-a", "a repository path"),
    ("a-", "a repository path"), ("/a", "a repository path"), ("a/", "a repository path"), ("a" * 256, "at most 255"),
    ("blog:%i", "a tag is at most 128"), ("blog:-x", "a tag"), ("blog:", "a tag"), ("x:" + "a" * 129, "a tag is at most 128"),
    ("web@sha256:abc", "a digest is sha256: and 64"), ("web@md5:" + "a" * 32, "a digest is sha256"),
    ("web@sha256:" + "A" * 64, "a digest is sha256: and 64 lowercase"), ("bad_host.com:x/y", "the registry is a host name"),
    ("registry:port/x", "the registry is a host name"),
])
def test_image_references_docker_refuses_name_the_reason(image, reason):
    with pytest.raises(ValueError) as error:
        stack_api.check_services([svc(image=image)])
    assert "field 'image' must be an image reference such as registry:5000/blog:latest; got %r" % image in str(error.value)
    assert reason in str(error.value)


@pytest.mark.parametrize("name", ["pull", "health", "watch", "state", "eip", "spotkit", "spotkit-pull", "spotkitx"])
def test_names_of_the_stacks_own_units_and_files_are_reserved(name):
    with pytest.raises(ValueError, match="field 'name' '%s' is reserved" % name):
        stack_api.check_services([svc(name=name)])


@pytest.mark.parametrize("name", ["puller", "web-spotkit", "state-db", "blog"])
def test_names_next_to_the_reserved_ones_are_free(name):
    stack_api.check_services([svc(name=name)])


@pytest.mark.parametrize("volume", [
    "/srv/site:/srv:ro", "data:/data", "my.vol_1:/var/lib/x:rw,z", "/var/lib/caddy:/data", "/opt/spotkit/project/blog/site:/srv:ro",
    "/var/log/app:/logs", "/home/app:/home:rshared", "/srv:/srv:nocopy", "/opt/app:/app:Z",
])
def test_volumes_docker_takes(volume):
    stack_api.check_services([svc(volumes=[volume])])


@pytest.mark.parametrize("volume", [
    "/srv", "data", ":/data", "/srv:", "/srv:relative", "/srv:/", "/srv:/a/../b", "/srv:/srv:rx", "/srv:/srv:ro,ro",
    "/srv:/srv:ro:z", "-bad:/data", "a:/data",
])
def test_volumes_outside_the_grammar_are_refused(volume):
    with pytest.raises(ValueError, match="field 'volumes' items must be 'source:/path' or 'source:/path:options'; got %r" % volume):
        stack_api.check_services([svc(volumes=[volume])])


@pytest.mark.parametrize("source", [
    "/", "/etc", "/etc/spotkit", "/etc/ssl/", "/proc", "/sys/fs", "/dev", "/root/.ssh", "/run", "/var/run/docker.sock",
    "/run/docker.sock", "/var/lib/docker", "/var", "/var/lib", "/usr/local", "/boot", "/opt", "/opt/spotkit",
    "/opt/spotkit/venv/bin", "/var/lib/spotkit", "/etc/../etc",
])
def test_host_system_paths_are_refused_unless_the_service_opts_in(source):
    volume = "%s:/host" % source
    with pytest.raises(ValueError) as error:
        stack_api.check_services([svc(volumes=[volume])])
    assert "hands the host over to the container" in str(error.value) and "allow_system_mounts" in str(error.value)
    stack_api.check_services([svc(volumes=[volume], allow_system_mounts=True)])


def test_allow_system_mounts_is_a_boolean():
    with pytest.raises(ValueError, match="field 'allow_system_mounts' must be true or false; got 'yes'"):
        stack_api.check_services([svc(allow_system_mounts="yes")])


@pytest.mark.parametrize("domain", ["203.0.113.7", "10.0.0.1.", "blog.123"])
def test_an_address_is_no_domain(domain):
    with pytest.raises(ValueError, match="spot_domain must be a DNS name, not an address"):
        stack_api.check_domain(domain, "")


def test_a_name_with_digits_is_a_domain():
    assert stack_api.check_domain("123.example.com", "") == ("123.example.com", "example.com")


@pytest.mark.parametrize("repo", [
    "https://github.com/you/site.git", "https://git.example.com:8443/team/site", "ssh://git@github.com/you/site.git",
    "ssh://git.example.com:2222/srv/site.git", "git@github.com:you/site.git", "github.com:you/site.git",
    "file:///srv/spotkit/project.git",
])
def test_pull_sources_the_instance_may_use(repo):
    stack_api.check_pull_source(repo, "main")


@pytest.mark.parametrize("repo", [
    "http://github.com/you/site.git", "git://github.com/you/site.git", "ftp://example.com/site", "/srv/site.git",
    "file://relative", "https://github.com/you/site git", "github.com", "ssh://", "https://github.com",
])
def test_pull_sources_outside_the_grammar_are_refused(repo):
    with pytest.raises(ValueError, match="spot_pull_repo must be an https://, ssh:// or scp-style"):
        stack_api.check_pull_source(repo, "main")


@pytest.mark.parametrize("repo", [
    "https://token@github.com/you/site.git", "https://x-access-token:ghp_secret@github.com/you/site.git",
    "ssh://git:hunter2@example.com/site.git",
])
def test_credentials_in_a_pull_source_are_refused_and_never_repeated(repo):
    with pytest.raises(ValueError) as error:
        stack_api.check_pull_source(repo, "main")
    assert "spot_pull_repo must not hold credentials" in str(error.value)
    assert repo not in str(error.value) and "github.com" not in str(error.value)


@pytest.mark.parametrize("repo,ok", [
    ("", True), ("file:///work/site/.sandbox/project.git", True), ("git@github.com:you/site.git", True),
    ("/srv/site.git", False), ("http://github.com/you/site.git", False), (["file:///a"], False),
])
def test_the_controllers_pull_repo_is_empty_or_a_git_url(repo, ok):
    if ok:
        assert stack_api.check_controller_pull_repo(repo) == repo
    else:
        with pytest.raises(ValueError, match="spot_controller_pull_repo must be empty or an https://"):
            stack_api.check_controller_pull_repo(repo)


def test_credentials_in_the_controllers_pull_repo_are_refused_and_never_repeated():
    with pytest.raises(ValueError) as error:
        stack_api.check_controller_pull_repo("https://x-access-token:ghp_secret@github.com/you/site.git")
    assert "spot_controller_pull_repo must not hold credentials" in str(error.value) and "ghp_secret" not in str(error.value)


@pytest.mark.parametrize("version,ok", [
    ("main", True), ("v1.2.0", True), ("release/2026-11", True), ("0a1b2c3", True), ("a" * 40, True),
    ("", False), ("-x", False), ("a..b", False), ("main branch", False), ("main/", False), ("a" * 256, False),
])
def test_pull_versions(version, ok):
    if ok:
        stack_api.check_pull_source("https://github.com/you/site.git", version)
    else:
        with pytest.raises(ValueError, match="spot_pull_version must be a branch, tag or commit"):
            stack_api.check_pull_source("https://github.com/you/site.git", version)


@pytest.mark.parametrize("parameter,ok", [
    ("", True), (None, True), ("/spotkit/blog/deploy-key", True), ("/spotkit/blog/keys/github", True),
    ("/spotkit/other/deploy-key", False), ("/spotkit/blogger/key", False), ("spotkit/blog/key", False),
    ("/spotkit/blog/", False), ("/spotkit/blog/a b", False),
])
def test_pull_credentials_are_the_stacks_own_parameters(parameter, ok):
    if ok:
        stack_api.check_pull_credential("blog", parameter)
    else:
        with pytest.raises(ValueError, match="spot_pull_credential must be the name of an SSM parameter under /spotkit/blog/"):
            stack_api.check_pull_credential("blog", parameter)


def test_a_credential_is_for_a_project_reached_over_the_network():
    for repo in ("https://github.com/you/site.git", "git@github.com:you/site.git", "ssh://git@example.com/site.git"):
        assert stack_api.check_pull_credential("blog", "/spotkit/blog/key", repo) == "/spotkit/blog/key"
    assert stack_api.check_pull_credential("blog", "", "file:///srv/spotkit/project.git") == ""
    with pytest.raises(ValueError, match="spot_pull_credential is for a project reached over https:// or SSH"):
        stack_api.check_pull_credential("blog", "/spotkit/blog/key", "file:///srv/spotkit/project.git")


ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPAskU3dVtXfNKW/Yenf6lJI7IOSQO1jXYZblPQtFuwt"
ECDSA = ("ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBNdg3SSqvL8JiodqiR+GDOHlzuT85zCLOpmhifi4Gi"
         "rbb1bweqq2G0TTNr/dvaNnBXj6pipoqDWe16x49J6XVMY=")


@pytest.mark.parametrize("value,expected", [
    ([], []), (None, []), ("", []),
    (["you@example.com " + ED25519], ["you@example.com " + ED25519]),
    ([" you@example.com " + ED25519 + " laptop "], ["you@example.com " + ED25519 + " laptop"]),
    (['you@example.com namespaces="git" ' + ED25519, "*@example.com " + ECDSA],
     ['you@example.com namespaces="git" ' + ED25519, "*@example.com " + ECDSA]),
    (['ci,you@example.com cert-authority,namespaces="git,file",valid-after="20260101" ' + ED25519],
     ['ci,you@example.com cert-authority,namespaces="git,file",valid-after="20260101" ' + ED25519]),
])
def test_pull_verify_takes_allowed_signers_lines(value, expected):
    assert stack_api.check_pull_verify(value) == expected


@pytest.mark.parametrize("value,reason", [
    ("you@example.com " + ED25519, "must be a list of SSH allowed signers lines"),
    ({"you": ED25519}, "must be a list of SSH allowed signers lines"),
    ([ED25519], "a line is: principals"),
    (["you@example.com"], "a line is: principals"),
    (["# you@example.com " + ED25519], "a line is: principals"),
    (["you@example.com " + ED25519 + "\nother@example.com " + ED25519], "it is not a single line"),
    ([5], "it is not a single line"),
    (["you@example.com ssh-dss AAAAB3NzaC1kc3MAAACBAP"], "the key type must be one of"),
    (['you@example.com namespaces="file" ' + ED25519], "its namespaces do not include git"),
    (["you@example.com no-touch-required " + ED25519], "unknown option no-touch-required"),
    (["you@example.com ssh-ed25519 not-base64!"], "the key is not base64"),
    (["you@example.com ssh-rsa " + ED25519.split()[1]], "the key is not a whole ssh-rsa key"),
    (["you@example.com " + ED25519[:40]], "the key is not"),
    (["-----BEGIN PGP PUBLIC KEY BLOCK-----"], "an OpenPGP key"),
])
def test_pull_verify_refuses_what_is_no_allowed_signer_naming_the_index_and_reason(value, reason):
    with pytest.raises(ValueError, match="spot_pull_verify") as error:
        stack_api.check_pull_verify(value)
    assert reason in str(error.value)
    if isinstance(value, list):
        assert "spot_pull_verify[0]" in str(error.value)


@pytest.mark.parametrize("value,addresses", [
    ("", []), (None, []), ([], []), ("ops@example.com", ["ops@example.com"]),
    (["a@example.com", "b.c+alerts@mail.example.org"], ["a@example.com", "b.c+alerts@mail.example.org"]),
])
def test_alarm_email_addresses(value, addresses):
    assert stack_api.check_emails(value) == addresses


@pytest.mark.parametrize("value", ["ops", "ops@", "@example.com", "ops@example", "ops example.com", "a@b@example.com",
                                   ["ops@example.com", 5], {"ops": "x"}, "ops@-example.com"])
def test_alarm_email_refuses_what_is_no_address(value):
    with pytest.raises(ValueError, match="spot_alarm_email must"):
        stack_api.check_emails(value)


@pytest.mark.parametrize("volumes,state", [
    (["/srv/app:/data"], ["/srv/app"]),
    (["/srv/app:/data"], ["/srv/app/"]),
    (["/srv/app:/data", "/var/lib/caddy:/caddy"], ["/srv/app/db", "/var/lib/caddy"]),
    (["/srv/app/:/data:rw"], ["/srv/app/certificates", "/srv/app/uploads"]),
])
def test_state_at_or_under_a_host_volume(volumes, state):
    stack_api.check_services([svc(volumes=volumes, state=state)])


@pytest.mark.parametrize("volumes,state,reason", [
    (["/srv/app:/data"], ["srv/app"], "must be an absolute, normalised host path"),
    (["/srv/app:/data"], ["/srv/app/../other"], "must be an absolute, normalised host path"),
    (["/srv/app:/data"], ["//srv/app"], "must be an absolute, normalised host path"),
    (["/srv/app:/data"], ["/srv/other"], "is not at or under the host side of one of the service's volumes (/srv/app)"),
    (["/srv/app:/data"], ["/srv/application"], "is not at or under the host side"),
    (["data:/data"], ["/var/lib/docker/volumes/data"], "is a system directory"),
    (["data:/data"], ["/srv/data"], "(it mounts no host directory)"),
    ([], ["/srv/app"], "(it mounts no host directory)"),
    (["/etc/app:/data"], ["/etc/app"], "is a system directory"),
    (["/:/host"], ["/"], "is a system directory"),
    (["/var:/host"], ["/var"], "is a system directory"),
    (["/var/lib/spotkit:/host"], ["/var/lib/spotkit/state"], "is a system directory"),
    (["/srv/app:/data"], ["/srv/app", "/srv/app/db"], "'/srv/app' is listed twice or holds another item"),
    (["/srv/app:/data"], ["/srv/app", "/srv/app/"], "is listed twice"),
])
def test_state_outside_the_volumes_relative_or_system_is_refused(volumes, state, reason):
    with pytest.raises(ValueError) as error:
        stack_api.check_services([svc(volumes=volumes, state=state, allow_system_mounts=True)])
    message = str(error.value)
    assert message.startswith("spot_services[0] (web): field 'state' item "), message
    assert reason in message, message


@pytest.mark.parametrize("state", ["/srv/app", [""], ["/srv/app\n"], [1]])
def test_state_is_a_list_of_paths(state):
    with pytest.raises(ValueError, match="field 'state' must be a list of non-empty single-line strings"):
        stack_api.check_services([svc(volumes=["/srv/app:/data"], state=state)])
