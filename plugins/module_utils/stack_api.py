# -*- coding: utf-8 -*-
# Copyright: spotkit.ec2 contributors
# MIT License (see LICENSE)
"""Rules of the stack API that more than one plugin enforces.

Each check raises ValueError with a message that names the variable (and for a service, the
service and the field) and the bad value; plugins turn it into their own error type.
"""

from __future__ import annotations

import ipaddress
import re

# Names end up in systemd unit names, container names, log group names and AWS resource names.
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
NAME_RULE = "lowercase letters, digits and '-', starting with a letter, at most 32 characters"

# A service logs to /var/log/<name>.log and ships it to /spotkit/<stack>/<name>: these names would
# write into a system log file, or share a log group with the system log or the pull log; "pull"
# would make its unit spotkit-pull.service, the periodic ansible-pull's own unit.
RESERVED_SERVICE_NAMES = frozenset((
    "alternatives", "ansible-pull", "apt", "auth", "boot", "btmp", "cloud-init", "cloud-init-output",
    "daemon", "debug", "dpkg", "faillog", "kern", "lastlog", "mail", "messages", "pull", "syslog", "system",
    "user", "wtmp",
))

# The values CloudWatch Logs accepts for retentionInDays (PutRetentionPolicy).
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
    1096, 1827, 2192, 2557, 2922, 3288, 3653,
)
DEFAULT_LOG_RETENTION_DAYS = 30


def check_name(what, value):
    """Raise ValueError unless value is a valid stack or service name."""
    if not isinstance(value, str) or not NAME_PATTERN.match(value):
        raise ValueError("%s must be %s; got %r" % (what, NAME_RULE, value))
    return value


def check_retention(what, value):
    """Raise ValueError unless value is a retention CloudWatch Logs accepts."""
    # bool is an int in Python; True is not a number of days.
    if isinstance(value, bool) or value not in LOG_RETENTION_DAYS:
        raise ValueError(
            "%s must be one of CloudWatch's values %s; got %r"
            % (what, ", ".join(str(d) for d in LOG_RETENTION_DAYS), value)
        )
    return value


def service_label(index, service):
    """How error messages refer to a service: by name when it has a usable one."""
    name = service.get("name") if isinstance(service, dict) else None
    if isinstance(name, str) and name:
        return "spot_services[%d] (%s)" % (index, name)
    return "spot_services[%d]" % index


def check_services(services, required=("name",)):
    """Check the parts of spot_services that every consumer relies on.

    Returns the list unchanged. Raises ValueError for: not a list, an item that is not a
    mapping, a missing required field, a bad or reserved name, a duplicate name, a bad
    log_retention_days.
    """
    if not isinstance(services, list):
        raise ValueError("spot_services must be a list of services; got %r" % (services,))
    seen = {}
    for index, service in enumerate(services):
        label = service_label(index, service)
        if not isinstance(service, dict):
            raise ValueError("%s must be a mapping; got %r" % (label, service))
        for field in required:
            if field not in service or service[field] in (None, ""):
                raise ValueError("%s: missing required field '%s'" % (label, field))
        name = check_name("%s: field 'name'" % label, service["name"])
        if name in seen:
            raise ValueError(
                "%s: field 'name' %r is already used by spot_services[%d]" % (label, name, seen[name])
            )
        if name in RESERVED_SERVICE_NAMES:
            raise ValueError(
                "%s: field 'name' %r is reserved (a system log file or log group of that name exists); reserved: %s"
                % (label, name, ", ".join(sorted(RESERVED_SERVICE_NAMES)))
            )
        seen[name] = index
        if "log_retention_days" in service:
            check_retention("%s: field 'log_retention_days'" % label, service["log_retention_days"])
    return services


# A port is "host:container", optionally "/tcp" or "/udp" (tcp when omitted).
PORT_PATTERN = re.compile(r"^([0-9]{1,5}):([0-9]{1,5})(?:/(tcp|udp))?$")
SSH_PORT = 22
PULL_POLICIES = ("always", "missing", "never")
DEFAULT_PULL_POLICY = "always"
ENV_NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def parse_port(what, spec):
    """Return (host_port, container_port, protocol) of a port spec; raise ValueError when malformed."""
    match = PORT_PATTERN.match(spec) if isinstance(spec, str) else None
    if not match:
        raise ValueError("%s must be 'HOST:CONTAINER' or 'HOST:CONTAINER/udp'; got %r" % (what, spec))
    host, container = int(match.group(1)), int(match.group(2))
    for port in (host, container):
        if not 1 <= port <= 65535:
            raise ValueError("%s: port %d is outside 1-65535; got %r" % (what, port, spec))
    return host, container, match.group(3) or "tcp"


def _check_string_list(what, value):
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise ValueError("%s must be a list of non-empty strings; got %r" % (what, value))


def _check_env(what, env):
    if not isinstance(env, dict):
        raise ValueError("%s must be a mapping of variable names to values; got %r" % (what, env))
    for key, value in env.items():
        if not isinstance(key, str) or not ENV_NAME_PATTERN.match(key):
            raise ValueError("%s: variable name %r must match [A-Za-z_][A-Za-z0-9_]*" % (what, key))
        if value is None or isinstance(value, (dict, list)):
            # The value itself may be a secret: name the variable, never echo the value.
            raise ValueError("%s: variable %s must be a string, number or boolean; got a %s"
                             % (what, key, type(value).__name__))


def service_ports(services):
    """The host ports the services publish, as dicts (service, host, container, protocol).

    Raises ValueError for a malformed port, host port 22 (reserved for SSH), or a host port and
    protocol that two entries publish. Expects services that passed check_services().
    """
    ports = []
    taken = {}
    for index, service in enumerate(services):
        label = service_label(index, service)
        specs = service.get("ports", [])
        if not isinstance(specs, list):
            raise ValueError("%s: field 'ports' must be a list; got %r" % (label, specs))
        for spec in specs:
            what = "%s: field 'ports' item %r" % (label, spec)
            host, container, protocol = parse_port(what, spec)
            if host == SSH_PORT:
                raise ValueError("%s: host port 22 is reserved for SSH (opened by spot_ssh_cidrs)" % what)
            if (host, protocol) in taken:
                raise ValueError("%s: host port %d/%s is already published by %s" % (what, host, protocol, taken[(host, protocol)]))
            taken[(host, protocol)] = label
            ports.append({"service": service["name"], "host": host, "container": container, "protocol": protocol})
    return ports


def check_service_specs(services):
    """Check every field of spot_services that provisioning and the instance rely on.

    Returns the list unchanged; raises ValueError naming the service, the field and the bad value.
    """
    if isinstance(services, list) and not services:
        raise ValueError("spot_services must list at least one service; got []")
    check_services(services, required=("name", "image"))
    for index, service in enumerate(services):
        label = service_label(index, service)
        if not isinstance(service["image"], str):
            raise ValueError("%s: field 'image' must be a string; got %r" % (label, service["image"]))
        for field in ("volumes", "command"):
            if field in service:
                _check_string_list("%s: field '%s'" % (label, field), service[field])
        if "env" in service:
            _check_env("%s: field 'env'" % label, service["env"])
        pull = service.get("pull", DEFAULT_PULL_POLICY)
        if pull not in PULL_POLICIES:
            raise ValueError("%s: field 'pull' must be one of %s; got %r" % (label, ", ".join(PULL_POLICIES), pull))
    service_ports(services)
    return services


# Families whose processors are arm64 (Graviton): a1, and a generation digit followed by "g"
# (t4g, c7gn, g5g, im4gn, x2gd). Checked against the full EC2 instance type catalogue: it holds
# for every type except the mac ones, which run only on dedicated hosts and are refused here.
ARM64_FAMILY_PATTERN = re.compile(r"^(a1|[a-z]+[0-9]+g[a-z0-9-]*)$")
BURSTABLE_FAMILY_PATTERN = re.compile(r"^t[0-9][a-z]*$")
INSTANCE_TYPE_PATTERN = re.compile(r"^([a-z][a-z0-9-]*)\.([a-z0-9-]+)$")


def instance_family(what, instance_type):
    """Return the family ('t4g' of 't4g.nano'); raise ValueError for a malformed type or a mac."""
    match = INSTANCE_TYPE_PATTERN.match(instance_type) if isinstance(instance_type, str) else None
    if not match:
        raise ValueError("%s must be an EC2 instance type such as t4g.nano; got %r" % (what, instance_type))
    family = match.group(1)
    if family.startswith("mac"):
        raise ValueError("%s: mac instances run only on dedicated hosts, never as spot; got %r" % (what, instance_type))
    return family


def architecture(family):
    """'arm64' or 'x86_64' for an instance family, without asking AWS."""
    return "arm64" if ARM64_FAMILY_PATTERN.match(family) else "x86_64"


def is_burstable(family):
    """Whether a family earns CPU credits (t2, t3, t3a, t4g)."""
    return bool(BURSTABLE_FAMILY_PATTERN.match(family))


def check_instance_types(types):
    """Return the one architecture of spot_instance_types; raise ValueError otherwise.

    Also refuses a mix of burstable and other families: the launch template's credit
    specification (standard credits) applies to burstable types only.
    """
    if not isinstance(types, list) or not types:
        raise ValueError("spot_instance_types must list at least one instance type; got %r" % (types,))
    families = [instance_family("spot_instance_types[%d]" % index, item) for index, item in enumerate(types)]
    if len(set(types)) != len(types):
        raise ValueError("spot_instance_types lists a type twice; got %r" % (types,))
    archs = {architecture(family) for family in families}
    if len(archs) > 1:
        by_arch = ", ".join("%s (%s)" % (item, architecture(family)) for item, family in zip(types, families))
        raise ValueError("spot_instance_types must all have one architecture, as they share one image; got %s" % by_arch)
    if len({is_burstable(family) for family in families}) > 1:
        raise ValueError("spot_instance_types must be all burstable (t2, t3, t3a, t4g) or all not; got %r" % (types,))
    return archs.pop()


REGION_PATTERN = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]+$")
IMAGE_ID_PATTERN = re.compile(r"^ami-([0-9a-f]{8}|[0-9a-f]{17})$")
DOMAIN_LABEL_PATTERN = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
# Keys of spot_instance_vars land next to the spot_* settings in /etc/spotkit/stack.json.
RESERVED_VAR_PREFIX = "spot_"
# EC2 takes at most 16 KB of user data, counted before base64 encoding.
USER_DATA_LIMIT = 16384


def check_region(value):
    if not isinstance(value, str) or not REGION_PATTERN.match(value):
        raise ValueError("spot_region must be an AWS region such as eu-west-1; got %r" % (value,))
    return value


def check_image_id(value):
    """An empty value means: look the image up. Anything else must look like an AMI id."""
    if value in (None, ""):
        return value
    if not isinstance(value, str) or not IMAGE_ID_PATTERN.match(value):
        raise ValueError("spot_image_id must be an AMI id such as ami-0123456789abcdef0, or empty; got %r" % (value,))
    return value


def _dns_name(what, value):
    name = value.lower().rstrip(".") if isinstance(value, str) else None
    labels = name.split(".") if name else []
    if len(labels) < 2 or len(name) > 253 or not all(DOMAIN_LABEL_PATTERN.match(label) for label in labels):
        raise ValueError("%s must be a DNS name such as blog.example.com; got %r" % (what, value))
    return name


def default_zone(domain):
    """The parent of a domain: the hosted zone assumed when spot_hosted_zone is empty."""
    return domain.rstrip(".").split(".", 1)[-1] if isinstance(domain, str) else domain


def check_domain(domain, zone):
    """An empty domain means: no DNS record. Otherwise the domain must lie inside the zone."""
    if domain in (None, ""):
        return
    name = _dns_name("spot_domain", domain)
    zone_name = _dns_name("spot_hosted_zone", zone or default_zone(name))
    if name != zone_name and not name.endswith("." + zone_name):
        raise ValueError("spot_domain %r is not inside spot_hosted_zone %r" % (domain, zone_name))


def check_cidrs(cidrs):
    if not isinstance(cidrs, list):
        raise ValueError("spot_ssh_cidrs must be a list of CIDRs; got %r" % (cidrs,))
    for index, cidr in enumerate(cidrs):
        try:
            ipaddress.ip_network(cidr, strict=True)
        except (TypeError, ValueError):
            raise ValueError("spot_ssh_cidrs[%d] must be a CIDR such as 203.0.113.7/32; got %r" % (index, cidr))


def check_instance_vars(instance_vars):
    if not isinstance(instance_vars, dict):
        raise ValueError("spot_instance_vars must be a mapping; got %r" % (instance_vars,))
    for key in instance_vars:
        if not isinstance(key, str) or key.startswith(RESERVED_VAR_PREFIX):
            raise ValueError("spot_instance_vars: key %r must not start with %r (those are the stack's own settings)"
                             % (key, RESERVED_VAR_PREFIX))
