# -*- coding: utf-8 -*-
# Copyright: spotkit.ec2 contributors
# MIT License (see LICENSE)
"""The rulebook of the stack API: every rule about a stack and its services, written once.

Private to this collection (leading underscore): the action plugin spotkit.ec2.stack_plan asks it
once per stack on the controller, the public filters and modules call its checks and names. Each
check raises ValueError with a message that names the variable (for a service: its index, name and
field) and the bad value; an env value is never repeated, as it may be a secret.
"""

from __future__ import annotations

import base64
import binascii
import copy
import functools
import ipaddress
import json
import posixpath
import re

# --- Names: docs/architecture.md ------------------------------------------------------------------

TAG_KEY = "spotkit:stack"
# On the launch template: the base image it was made from, kept until an update is asked.
BASE_IMAGE_TAG = "spotkit:base-image"
# The stack image (docs/aws.md#the-stack-image): what a resource is to the stack, and the tags the builder
# instance sets on itself when its bake ends (the instance policy allows it these two keys only).
ROLE_TAG = "spotkit:role"
BAKE_TAG = "spotkit:bake"
BAKE_ERROR_TAG = "spotkit:bake-error"
RESOURCE_PREFIX = "spotkit-"
METRICS_NAMESPACE = "spotkit"
# Log groups of the stack that no service may take: the system log and the pull log.
SYSTEM_LOG = "system"
PULL_LOG = "ansible-pull"

# Names end up in systemd unit names, container names, log group names and AWS resource names.
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
NAME_RULE = "lowercase letters, digits and '-', starting with a letter, at most 32 characters"

# A service logs to /var/log/<name>.log and ships it to /spotkit/<stack>/<name>, and runs as the unit
# spotkit-<name>.service: these names would write into a system log file, share a log group with the
# system log or the pull log, or take the name of one of the stack's own units (spotkit-pull, ...).
RESERVED_SERVICE_NAMES = frozenset((
    "alternatives", "ansible-pull", "apt", "auth", "boot", "btmp", "cloud-init", "cloud-init-output",
    "daemon", "debug", "dpkg", "faillog", "kern", "lastlog", "mail", "messages", "syslog", "system",
    "user", "wtmp",
    # The stack's own units and files: spotkit-<name>.service, /var/log/spotkit-<name>.log.
    "bootstrap", "eip", "env", "health", "image", "logrotate", "pull", "state", "swap", "watch",
))
# A service named spotkit-... would write /var/log/spotkit-....log, the stack's own log files.
RESERVED_SERVICE_PREFIX = "spotkit"


def resource_name(stack):
    """Name of the stack's security group, IAM role and profile, launch template and group."""
    return RESOURCE_PREFIX + stack


def iam_name(stack, region):
    """Name of the stack's IAM role and instance profile: IAM is global, so the region is part of it,
    and the same stack name in two regions owns two roles."""
    return "%s%s-%s" % (RESOURCE_PREFIX, stack, region)


def metrics_namespace(stack):
    """The stack's CloudWatch namespace: the instance policy lets an instance publish there only."""
    return "%s/%s" % (METRICS_NAMESPACE, stack)


def resource_tags(stack):
    return {TAG_KEY: stack, "Name": resource_name(stack)}


def log_group(stack, name):
    return "/spotkit/%s/%s" % (stack, name)


def env_parameter(stack):
    """The SSM SecureString holding the services' env, {service: {VAR: value}}."""
    return "/spotkit/%s/env" % stack


def lock_parameter(stack):
    """The SSM parameter that a run changing the stack holds while it runs (spotkit.ec2.stack_lock)."""
    return "/spotkit/%s/lock" % stack


def instance_parameters(stack, variables):
    """The SSM parameters the stack's instances read, and the only ones their policy lets them read:
    the services' env (when a service has env) and a private project's credential."""
    services = variables.get("spot_services") or []
    parameters = [env_parameter(stack)] if any(isinstance(service, dict) and service.get("env") for service in services) else []
    if variables.get("spot_pull_credential"):
        parameters.append(variables["spot_pull_credential"])
    if variables.get("spot_tailscale") and variables.get("spot_tailscale_auth_parameter"):
        parameters.append(variables["spot_tailscale_auth_parameter"])
    return parameters


# Alerting (docs/operations.md#alerts). Route 53 publishes the metrics of its health checks in
# us-east-1 only: a stack's site-down alarm lives there whatever the stack's region, with a topic
# there too when the stack is elsewhere (an alarm notifies topics of its own region only).
HEALTH_CHECK_REGION = "us-east-1"
# The alarms a stack may own in its region, by kind; the site-down alarm is apart (site_alarm_name).
ALARM_KINDS = ("no-instance", "cpu-credits", "cpu", "memory", "disk", "deploys-failing")
# The EventBridge rules on the Auto Scaling group's events, by kind.
EVENT_RULE_KINDS = ("launch", "launch-failed", "terminate")
# The metric filter of the pull log group that counts failed runs, and the metric it publishes.
PULL_FAILURE_FILTER = "spotkit-pull-failures"
PULL_FAILURE_METRIC = "pull_failures"


def global_name(stack, region):
    """Name of what a stack keeps in a global service or outside its region (its Route 53 health check,
    its topics): the region is part of it, as in iam_name(), so the same stack name in two regions owns two."""
    return "%s%s-%s" % (RESOURCE_PREFIX, stack, region)


def topic_name(stack, region):
    """The stack's SNS topic, in its region; also the name of its topic in HEALTH_CHECK_REGION."""
    return global_name(stack, region)


def alarm_name(stack, kind):
    """A CloudWatch alarm of the stack in its region; kind is one of ALARM_KINDS."""
    if kind not in ALARM_KINDS:
        raise ValueError("alarm kind must be one of %s; got %r" % (", ".join(ALARM_KINDS), kind))
    return "%s%s-%s" % (RESOURCE_PREFIX, stack, kind)


def site_alarm_name(stack, region):
    """The alarm on the stack's health check, in HEALTH_CHECK_REGION, named with the stack's region."""
    return global_name(stack, region) + "-site-down"


def event_rule_name(stack, kind):
    """An EventBridge rule of the stack in its region; kind is one of EVENT_RULE_KINDS."""
    if kind not in EVENT_RULE_KINDS:
        raise ValueError("event rule kind must be one of %s; got %r" % (", ".join(EVENT_RULE_KINDS), kind))
    return "%s%s-%s" % (RESOURCE_PREFIX, stack, kind)


# --- Services -------------------------------------------------------------------------------------

SERVICE_FIELDS = (
    "name", "image", "ports", "env", "volumes", "command", "pull", "log_retention_days", "allow_system_mounts",
    "memory", "pids_limit", "cap_add", "read_only", "state",
)
REQUIRED_SERVICE_FIELDS = ("name", "image")
PULL_POLICIES = ("always", "missing", "never")
DEFAULT_PULL_POLICY = "always"
# The values CloudWatch Logs accepts for retentionInDays (PutRetentionPolicy).
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
    1096, 1827, 2192, 2557, 2922, 3288, 3653,
)
DEFAULT_LOG_RETENTION_DAYS = 30

# Limits of a service's container (docs/stack-api.md). The memory limit is sized for a t4g.nano
# (512 MiB): half of it, so that a service that grows is stopped by its own limit while the system
# (dockerd, the CloudWatch agent, a pull run) keeps the other half. Docker's units are binary (m =
# MiB) and it refuses a limit under 6 MiB.
DEFAULT_MEMORY = "256m"
MEMORY_PATTERN = re.compile(r"^([1-9][0-9]*)([mg])$")
MIN_MEMORY_MIB = 6
# Processes and threads of a container: Caddy runs about 10 threads, Node about 12 plus a process
# per child it spawns; a fork bomb stops at this many.
DEFAULT_PIDS_LIMIT = 256
# The kernel's largest pid_max (PID_MAX_LIMIT on 64-bit).
MAX_PIDS_LIMIT = 4194304
# Every container drops all capabilities (--cap-drop ALL) and gets back only those its service lists in
# cap_add, spelt as Docker spells them (capabilities(7) without the CAP_ prefix). Linux 5.8's BPF, PERFMON
# and CHECKPOINT_RESTORE are not among them: Debian 12's Docker 20.10 refuses them as unknown.
CAPABILITIES = (
    "AUDIT_CONTROL", "AUDIT_READ", "AUDIT_WRITE", "BLOCK_SUSPEND", "CHOWN",
    "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "IPC_LOCK", "IPC_OWNER", "KILL", "LEASE",
    "LINUX_IMMUTABLE", "MAC_ADMIN", "MAC_OVERRIDE", "MKNOD", "NET_ADMIN", "NET_BIND_SERVICE", "NET_BROADCAST",
    "NET_RAW", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYSLOG", "SYS_ADMIN", "SYS_BOOT",
    "SYS_CHROOT", "SYS_MODULE", "SYS_NICE", "SYS_PACCT", "SYS_PTRACE", "SYS_RAWIO", "SYS_RESOURCE", "SYS_TIME",
    "SYS_TTY_CONFIG", "WAKE_ALARM",
)
# What a service's settings hold when the inventory leaves a field out (env and command: nothing).
SERVICE_DEFAULTS = {
    "ports": [], "volumes": [], "pull": DEFAULT_PULL_POLICY, "log_retention_days": DEFAULT_LOG_RETENTION_DAYS,
    "memory": DEFAULT_MEMORY, "pids_limit": DEFAULT_PIDS_LIMIT, "cap_add": [], "read_only": False,
}

# A port is "host:container", optionally "/tcp" or "/udp" (tcp when omitted); "127.0.0.1:host:container"
# publishes on the instance's loopback only: no security group rule, reached through a tunnel.
LOOPBACK = "127.0.0.1"
PORT_PATTERN = re.compile(r"^(?:(127\.0\.0\.1):)?([0-9]{1,5}):([0-9]{1,5})(?:/(tcp|udp))?$")
SSH_PORT = 22
ENV_NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# What `docker run --volume` takes after source:target, and a named volume's name.
VOLUME_OPTIONS = frozenset(("ro", "rw", "z", "Z", "nocopy", "shared", "rshared", "slave", "rslave", "private", "rprivate"))
VOLUME_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
# Host paths that hand the host over to a container that mounts them (or a directory above them).
SYSTEM_PATHS = (
    "/etc", "/proc", "/sys", "/dev", "/root", "/boot", "/run", "/var/run", "/var/lib/docker", "/usr", "/bin", "/sbin",
    "/lib", "/lib32", "/lib64", "/var/lib/spotkit", "/opt/spotkit/venv", "/opt/spotkit/collections",
)

# The Docker image reference grammar (distribution/reference): [domain[:port]/]path[:tag][@digest],
# the path lowercase components joined by '/', a tag of at most 128 word characters, '.' and '-'.
# Only sha256 digests, as registries and Docker use them.
IMAGE_PATH_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
IMAGE_DOMAIN = re.compile(r"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*"
                          r"|\[[a-fA-F0-9:]+\])(?::[0-9]+)?$")
IMAGE_TAG = re.compile(r"^\w[\w.-]{0,127}$")
IMAGE_DIGEST = re.compile(r"^sha256:[a-f0-9]{64}$")
IMAGE_NAME_MAX = 255


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


def _single_line(text):
    return not any(char in text for char in "\n\r\0")


def _check_string_list(what, value):
    if not isinstance(value, list) or not all(isinstance(item, str) and item and _single_line(item) for item in value):
        raise ValueError("%s must be a list of non-empty single-line strings; got %r" % (what, value))


def _image_reference_error(image):
    """Why image is not a Docker image reference, or None when it is one."""
    name, digest = (image.split("@", 1) + [""])[:2]
    if digest and not IMAGE_DIGEST.match(digest):
        return "a digest is sha256: and 64 lowercase hex digits"
    components = name.split("/")
    last = components[-1]
    # A tag follows the last ':' of the last component: in "registry:5000/blog" the port is no tag.
    if ":" in last:
        last, tag = last.rsplit(":", 1)
        if not IMAGE_TAG.match(tag):
            return "a tag is at most 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'"
        components[-1] = last
    # As Docker reads it: the first component names a registry when it has a '.' or a ':', or is localhost.
    first = components[0]
    if len(components) > 1 and ("." in first or ":" in first or first == "localhost"):
        if not IMAGE_DOMAIN.match(first):
            return "the registry is a host name or address with an optional port"
        components = components[1:]
    if not all(IMAGE_PATH_COMPONENT.match(component) for component in components):
        return "a repository path is lowercase letters and digits, separated by '/', '.', '_', '__' or '-'"
    if len("/".join(components)) > IMAGE_NAME_MAX:
        return "a repository name is at most %d characters" % IMAGE_NAME_MAX
    return None


def _check_image(what, image):
    reason = _image_reference_error(image) if isinstance(image, str) and image else "it is empty or not a string"
    if reason:
        raise ValueError("%s must be an image reference such as registry:5000/blog:latest; got %r (%s)" % (what, image, reason))


def _at_or_under(path, directory):
    """Whether a normalised path is the directory or inside it."""
    return path == directory or path.startswith(directory.rstrip("/") + "/")


def _system_path(path):
    """Whether mounting a host path gives a container the host: a system path, inside one, or above one."""
    path = posixpath.normpath(path)
    return any(_at_or_under(path, system) or _at_or_under(system, path) for system in SYSTEM_PATHS)


def _check_volumes(what, volumes, allow_system_mounts=False):
    _check_string_list(what, volumes)
    for volume in volumes:
        parts = volume.split(":")
        source, target = (parts + ["", ""])[:2]
        options = parts[2].split(",") if len(parts) == 3 else []
        if (len(parts) not in (2, 3) or not (source.startswith("/") or VOLUME_NAME_PATTERN.match(source))
                or not target.startswith("/") or posixpath.normpath(target) == "/" or "/../" in target + "/"
                or len(set(options)) != len(options) or not set(options) <= VOLUME_OPTIONS):
            raise ValueError("%s items must be 'source:/path' or 'source:/path:options'; got %r (the source a host path or "
                             "a volume name, the path absolute in the container and not /, the options among %s)"
                             % (what, volume, ", ".join(sorted(VOLUME_OPTIONS))))
        if source.startswith("/") and _system_path(source) and not allow_system_mounts:
            raise ValueError("%s item %r mounts the host's %s, which hands the host over to the container; set the "
                             "service's allow_system_mounts: true only for a service built to manage the host"
                             % (what, volume, posixpath.normpath(source)))


def _check_state(what, state, volumes):
    """state: host directories, each at or under the host side of one of the service's volumes, that the instance
    restores before the service's first start and saves (docs/state.md). No system directory, whatever the volumes."""
    _check_string_list(what, state)
    sources = [posixpath.normpath(volume.split(":")[0]) for volume in volumes if volume.startswith("/")]
    for path in state:
        if not path.startswith("/") or posixpath.normpath(path) != (path.rstrip("/") or "/") or path.startswith("//"):
            raise ValueError("%s item %r must be an absolute, normalised host path such as /srv/app/data" % (what, path))
        path = posixpath.normpath(path)
        if _system_path(path):
            raise ValueError("%s item %r is a system directory, inside one or above one: its copy would carry or "
                             "overwrite the host's own files" % (what, path))
        if not any(_at_or_under(path, source) for source in sources):
            raise ValueError("%s item %r is not at or under the host side of one of the service's volumes (%s)"
                             % (what, path, ", ".join(sources) or "it mounts no host directory"))
    paths = [posixpath.normpath(path) for path in state]
    for path in paths:
        if any(other != path and _at_or_under(other, path) for other in paths) or paths.count(path) > 1:
            raise ValueError("%s item %r is listed twice or holds another item; list each directory once" % (what, path))


def _memory_mib(value):
    """MiB of a memory limit such as 256m or 1g; 0 when it is not one."""
    match = MEMORY_PATTERN.match(value) if isinstance(value, str) else None
    return int(match.group(1)) * (1024 if match.group(2) == "g" else 1) if match else 0


def _check_memory(what, value):
    if _memory_mib(value) < MIN_MEMORY_MIB:
        raise ValueError("%s must be a size in MiB or GiB such as 256m or 1g, at least %dm (Docker's smallest limit); got %r"
                         % (what, MIN_MEMORY_MIB, value))


def _check_pids_limit(what, value):
    # bool is an int in Python; True is not a number of processes.
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PIDS_LIMIT:
        raise ValueError("%s must be a whole number of processes and threads from 1 to %d; got %r" % (what, MAX_PIDS_LIMIT, value))


def _check_capabilities(what, value):
    if not isinstance(value, list):
        raise ValueError("%s must be a list of capabilities such as [NET_BIND_SERVICE]; got %r" % (what, value))
    for item in value:
        if item == "ALL":
            raise ValueError("%s: ALL would give every capability back; list the ones the service needs" % what)
        if item not in CAPABILITIES:
            raise ValueError("%s item %r is not a capability as Docker spells it (uppercase, without CAP_); capabilities: %s"
                             % (what, item, ", ".join(CAPABILITIES)))
    if len(set(value)) != len(value):
        raise ValueError("%s lists a capability twice; got %r" % (what, value))


def _check_bool(what, value):
    if not isinstance(value, bool):
        raise ValueError("%s must be true or false; got %r" % (what, value))


def check_env(what, env):
    if not isinstance(env, dict):
        raise ValueError("%s must be a mapping of variable names to values; got a %s" % (what, type(env).__name__))
    for key, value in env.items():
        if not isinstance(key, str) or not ENV_NAME_PATTERN.match(key):
            raise ValueError("%s: variable name %r must match [A-Za-z_][A-Za-z0-9_]*" % (what, key))
        # The value itself may be a secret: name the variable, never echo the value.
        if not isinstance(value, (str, int, float)):
            raise ValueError("%s: variable %s must be a string, number or boolean; got a %s"
                             % (what, key, type(value).__name__))
        if not _single_line(str(value)):
            # Docker's env file holds one variable per line.
            raise ValueError("%s: variable %s must be a single line" % (what, key))


def parse_port(label, spec):
    """Return (host_port, container_port, protocol, loopback) of a service's port; raise ValueError when malformed."""
    match = PORT_PATTERN.match(spec) if isinstance(spec, str) else None
    ports = (int(match.group(2)), int(match.group(3))) if match else (0, 0)
    if not all(1 <= port <= 65535 for port in ports):
        raise ValueError("%s: field 'ports' items must be 'host:container' or 'host:container/udp' with ports 1-65535, "
                         "or either prefixed with '%s:' to publish on the instance's loopback only; got %r"
                         % (label, LOOPBACK, spec))
    return ports[0], ports[1], match.group(4) or "tcp", match.group(1) == LOOPBACK


def service_ports(services):
    """The host ports the services publish, as dicts (service, host, container, protocol, loopback).

    Raises ValueError for a malformed port, host port 22 (reserved for SSH), or a host port and
    protocol that two entries publish. Expects services whose names passed check_services().
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
            host, container, protocol, loopback = parse_port(label, spec)
            if host == SSH_PORT:
                raise ValueError("%s: host port 22 is reserved for SSH (opened by spot_ssh_cidrs)" % what)
            if (host, protocol) in taken:
                raise ValueError("%s: host port %d/%s is already published by %s" % (what, host, protocol, taken[(host, protocol)]))
            taken[(host, protocol)] = label
            ports.append({"service": service["name"], "host": host, "container": container, "protocol": protocol,
                          "loopback": loopback})
    return ports


def check_service_names(services):
    """Check the list's shape and the services' names; enough for consumers that read only names.

    Raises ValueError for: not a list, an item that is not a mapping, a missing name, a bad or
    reserved name, a duplicate name, a bad log_retention_days.
    """
    if not isinstance(services, list):
        raise ValueError("spot_services must be a list of services; got %r" % (services,))
    seen = {}
    for index, service in enumerate(services):
        label = service_label(index, service)
        if not isinstance(service, dict):
            raise ValueError("%s must be a mapping; got %r" % (label, service))
        if service.get("name") in (None, ""):
            raise ValueError("%s: missing required field 'name'" % label)
        name = check_name("%s: field 'name'" % label, service["name"])
        if name in seen:
            raise ValueError("%s: field 'name' %r is already used by spot_services[%d]" % (label, name, seen[name]))
        if name in RESERVED_SERVICE_NAMES or name.startswith(RESERVED_SERVICE_PREFIX):
            raise ValueError(
                "%s: field 'name' %r is reserved (a system log file, log group or unit of the stack has that name); "
                "reserved: %s and names starting with %r"
                % (label, name, ", ".join(sorted(RESERVED_SERVICE_NAMES)), RESERVED_SERVICE_PREFIX)
            )
        seen[name] = index
        if "log_retention_days" in service:
            check_retention("%s: field 'log_retention_days'" % label, service["log_retention_days"])
    return services


def _check_service_fields(label, service):
    unknown = sorted(set(service) - set(SERVICE_FIELDS))
    if unknown:
        raise ValueError("%s: unknown field %r; fields: %s" % (label, unknown[0], ", ".join(SERVICE_FIELDS)))
    for field in REQUIRED_SERVICE_FIELDS:
        if service.get(field) in (None, ""):
            raise ValueError("%s: missing required field '%s'" % (label, field))
    _check_image("%s: field 'image'" % label, service["image"])
    allow_system_mounts = service.get("allow_system_mounts", False)
    _check_bool("%s: field 'allow_system_mounts'" % label, allow_system_mounts)
    if "volumes" in service:
        _check_volumes("%s: field 'volumes'" % label, service["volumes"], allow_system_mounts)
    if "command" in service:
        _check_string_list("%s: field 'command'" % label, service["command"])
    if "state" in service:
        _check_state("%s: field 'state'" % label, service["state"], service.get("volumes", []))
    if "env" in service:
        check_env("%s: field 'env'" % label, service["env"])
    pull = service.get("pull", DEFAULT_PULL_POLICY)
    if pull not in PULL_POLICIES:
        raise ValueError("%s: field 'pull' must be one of %s; got %r" % (label, ", ".join(PULL_POLICIES), pull))
    limits = (("memory", _check_memory), ("pids_limit", _check_pids_limit), ("cap_add", _check_capabilities),
              ("read_only", _check_bool))
    for field, check in limits:
        if field in service:
            check("%s: field '%s'" % (label, field), service[field])


def check_services(services, allow_empty=False):
    """Check every field of spot_services that provisioning and the instance rely on.

    Returns the list unchanged; raises ValueError naming the service, the field and the bad value.
    A stack has at least one service; the instance's container_service role may run none.
    """
    if isinstance(services, list) and not services and not allow_empty:
        raise ValueError("spot_services must list at least one service; got []")
    check_service_names(services)
    for index, service in enumerate(services):
        _check_service_fields(service_label(index, service), service)
    service_ports(services)
    return services


def public_service(service):
    """A service as the instance's settings hold it: defaults filled in, env left out (it may hold secrets)."""
    public = copy.deepcopy(SERVICE_DEFAULTS)
    public.update((key, value) for key, value in service.items() if key != "env")
    return public


# --- Instance types -------------------------------------------------------------------------------

# Families whose processors are arm64 (Graviton): a1, and a generation digit followed by "g"
# (t4g, c7gn, g5g, im4gn, x2gd). Checked against the full EC2 instance type catalogue: it holds
# for every type except the mac ones, which run only on dedicated hosts and are refused here.
ARM64_FAMILY_PATTERN = re.compile(r"^(a1|[a-z]+[0-9]+g[a-z0-9-]*)$")
BURSTABLE_FAMILY_PATTERN = re.compile(r"^t[0-9][a-z]*$")
INSTANCE_TYPE_PATTERN = re.compile(r"^([a-z][a-z0-9-]*)\.([a-z0-9-]+)$")
# Debian publishes its images' ids under these public SSM parameters (Debian names x86_64 amd64).
DEBIAN_IMAGE_PARAMETER = "/aws/service/debian/release/13/latest/%s"
DEBIAN_ARCHITECTURES = {"x86_64": "amd64", "arm64": "arm64"}


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
    """Return (architecture, burstable) of spot_instance_types; raise ValueError otherwise.

    They must share one architecture (one image) and be all burstable or none: the launch
    template's credit specification (standard credits) applies to burstable types only.
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
    burstable = {is_burstable(family) for family in families}
    if len(burstable) > 1:
        raise ValueError("spot_instance_types must be all burstable (t2, t3, t3a, t4g) or all not; got %r" % (types,))
    return archs.pop(), burstable.pop()


# --- Region, image, DNS, network, instance variables ----------------------------------------------

REGION_PATTERN = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]+$")
IMAGE_ID_PATTERN = re.compile(r"^ami-([0-9a-f]{8}|[0-9a-f]{17})$")
DOMAIN_LABEL_PATTERN = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
# The on-instance roles that playbooks/pull.yml applies; spot_instance_vars may set their public
# variables (their argument specs' options), except those pull.yml sets from the stack's settings.
INSTANCE_ROLES = ("system", "docker", "container_service", "eip", "interruption_watcher", "cloudwatch_agent", "ansible_pull",
                  "session_manager", "tailscale")
SET_BY_PULL = frozenset((
    "container_service_services", "container_service_env", "container_service_state_bucket", "container_service_state_region",
    "container_service_state_endpoint_url", "container_service_state_python", "eip_stack", "eip_region", "eip_endpoint_url",
    "eip_instance_id",
    "interruption_watcher_stack", "interruption_watcher_region", "interruption_watcher_endpoint_url",
    "interruption_watcher_python", "interruption_watcher_units",
    "interruption_watcher_notice_units",
    "cloudwatch_agent_stack", "cloudwatch_agent_services", "cloudwatch_agent_region", "cloudwatch_agent_extra_logs",
    "ansible_pull_repo_url", "ansible_pull_version", "ansible_pull_executable", "ansible_pull_credential_parameter",
    "ansible_pull_allowed_signers",
    "session_manager_region", "tailscale_hostname", "tailscale_tags", "tailscale_ssh", "tailscale_auth_parameter",
    "tailscale_region", "tailscale_endpoint_url", "tailscale_login",
))
# Git URLs the instance may pull from: https://, ssh://, scp-style (user@host:path), file:/// (a
# repository on the instance itself, as the sandbox mounts one). None may carry a credential.
_HOST = r"(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:]+\])"
PULL_URL_PATTERNS = (
    re.compile(r"^https://%s(?::[0-9]+)?/[^\s@]+$" % _HOST),
    re.compile(r"^ssh://(?:[A-Za-z0-9._-]+@)?%s(?::[0-9]+)?/\S+$" % _HOST),
    re.compile(r"^(?:[A-Za-z0-9._-]+@)?%s:(?!//)[^\s:]\S*$" % _HOST),
    re.compile(r"^file:///\S+$"),
)
# A password or token in a URL: user:secret@ anywhere, or any user@ in an https:// URL.
CREDENTIAL_IN_URL_PATTERN = re.compile(r"^(?:[a-z+]+://[^/@\s]*:[^/@\s]*@|https?://[^/@\s]+@)")
GIT_REF_PATTERN = re.compile(r"^(?![-/.])[A-Za-z0-9._/-]{1,255}(?<![/.])$")
POLICY_ARN_PATTERN = re.compile(r"^arn:aws[a-z-]*:iam::([0-9]{12}|aws):policy/[A-Za-z0-9+=,.@_/-]{1,512}$")
SSM_NAME_PATTERN = re.compile(r"^/[A-Za-z0-9_./-]{1,1010}$")
# spot_pull_verify: lines of an SSH allowed signers file (ssh-keygen(1), ALLOWED SIGNERS), which git's
# gpg.ssh.allowedSignersFile takes: principals, options, key type, base64 key, comment.
SIGNER_KEY_TYPES = frozenset((
    "ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com",
))
# What a key type looks like, known or not: the field after the principals is options otherwise.
SIGNER_KEY_TYPE_PATTERN = re.compile(r"^(?:ssh|ecdsa|sk)-")
SIGNER_PRINCIPALS_PATTERN = re.compile(r"^[^#\s\"][^\s\"]*$")
SIGNER_OPTION_PATTERN = re.compile(r'^(?:cert-authority|(?:namespaces|valid-after|valid-before)="[^"\s]+")$')
# Options are separated by commas outside quotes: namespaces="git,file" is one option.
SIGNER_OPTIONS_SPLIT = re.compile(r'(?:[^,"]|"[^"]*")+')
EMAIL_PATTERN = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")


def check_region(value, what="spot_region"):
    if not isinstance(value, str) or not REGION_PATTERN.match(value):
        raise ValueError("%s must be an AWS region such as eu-west-1; got %r" % (what, value))
    return value


def check_image_id(value):
    """An empty value means: look the image up. Anything else must look like an AMI id."""
    if value in (None, ""):
        return ""
    if not isinstance(value, str) or not IMAGE_ID_PATTERN.match(value):
        raise ValueError("spot_image_id must be an AMI id such as ami-0123456789abcdef0, or empty; got %r" % (value,))
    return value


def _dns_name(what, value):
    name = value.lower().rstrip(".") if isinstance(value, str) else None
    labels = name.split(".") if name else []
    if len(labels) < 2 or len(name) > 253 or not all(DOMAIN_LABEL_PATTERN.match(label) for label in labels):
        raise ValueError("%s must be a DNS name such as blog.example.com; got %r" % (what, value))
    # No top-level domain is all digits: 203.0.113.7 is an address, which no record can be named.
    if labels[-1].isdigit():
        raise ValueError("%s must be a DNS name, not an address; got %r" % (what, value))
    return name


def check_domain(domain, zone):
    """Return (domain, zone), lowercase without a final dot; ("", "") without a domain.

    The zone defaults to the parent of the domain, and must hold it.
    """
    if domain in (None, ""):
        return "", ""
    name = _dns_name("spot_domain", domain)
    zone_name = _dns_name("spot_hosted_zone", zone or name.split(".", 1)[1])
    if name != zone_name and not name.endswith("." + zone_name):
        raise ValueError("spot_domain %r is not inside spot_hosted_zone %r" % (domain, zone_name))
    return name, zone_name


def check_cidrs(cidrs):
    """Return the CIDRs as (version, cidr) pairs."""
    if not isinstance(cidrs, list):
        raise ValueError("spot_ssh_cidrs must be a list of CIDRs; got %r" % (cidrs,))
    checked = []
    for index, cidr in enumerate(cidrs):
        try:
            checked.append((ipaddress.ip_network(cidr, strict=True).version, cidr))
        except (TypeError, ValueError):
            raise ValueError("spot_ssh_cidrs[%d] must be a CIDR such as 203.0.113.7/32; got %r" % (index, cidr))
    return checked


def check_ssh_access(cidrs, key_name):
    """Return the CIDRs checked (check_cidrs): port 22 opens only to an instance that has a key pair."""
    checked = check_cidrs(cidrs)
    # EC2 key pair names: 1 to 255 ASCII characters.
    if not isinstance(key_name, str) or len(key_name) > 255 or not key_name.isascii():
        raise ValueError("spot_key_name must be the name of an EC2 key pair (at most 255 ASCII characters); got %r" % (key_name,))
    if checked and not key_name:
        raise ValueError(
            "spot_ssh_cidrs %r opens port 22, but spot_key_name is empty: with no key pair on the instance nobody can log in;"
            " name an EC2 key pair in spot_key_name, or leave spot_ssh_cidrs empty" % (cidrs,))
    return checked


# The root volume of the launch template, in GiB: gp3 takes 1 to 16384. An image whose own root volume
# is larger gets its own size (roles/spot_instance/tasks/launch_template.yml): AWS refuses less.
MAX_ROOT_VOLUME_GIB = 16384


def check_root_volume_size(value):
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ROOT_VOLUME_GIB:
        raise ValueError("spot_root_volume_size must be a whole number of GiB from 1 to %d (gp3); got %r" % (MAX_ROOT_VOLUME_GIB, value))
    return value


# Strings as `-e spot_image_bake=true` passes them, which Ansible takes for booleans too.
BOOLEAN_STRINGS = {"true": True, "yes": True, "on": True, "1": True, "false": False, "no": False, "off": False, "0": False}
DEFAULT_IMAGE_KEEP = 2
MAX_IMAGE_KEEP = 100
# Seconds a builder may take to bake, from its launch to its power-off.
DEFAULT_BAKE_TIMEOUT = 1800
BAKE_TIMEOUT_RANGE = (60, 14400)
# A run's lock counts as stale after this many seconds: the run died without releasing it. Longer than
# the stack's bake may take, so that no live run's lock looks stale.
DEFAULT_LOCK_TIMEOUT = 3600
LOCK_TIMEOUT_RANGE = (300, 86400)


def _whole_number(value):
    """value as an int when it is a whole number or a string of one (an extra var is a string); else None."""
    if isinstance(value, str) and re.match(r"^[0-9]+$", value.strip()):
        return int(value)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _flag(variable, value, default=False):
    """A boolean variable (a string as -e passes it taken as Ansible takes it); unset means default."""
    flag = default if value is None else BOOLEAN_STRINGS.get(value.strip().lower()) if isinstance(value, str) else value
    if not isinstance(flag, bool):
        raise ValueError("%s must be true or false; got %r" % (variable, value))
    return flag


def check_image_bake(value):
    """spot_image_bake: whether provisioning bakes a stack image; unset means yes."""
    return _flag("spot_image_bake", value, default=True)


def check_image_keep(value):
    """spot_image_keep: how many stack images a stack keeps, the one its launch template uses among them."""
    number = DEFAULT_IMAGE_KEEP if value is None else _whole_number(value)
    if number is None or not 1 <= number <= MAX_IMAGE_KEEP:
        raise ValueError("spot_image_keep must be a whole number of images from 1 to %d; got %r" % (MAX_IMAGE_KEEP, value))
    return number


def _whole_number_within(variable, value, default, bounds, unit):
    """value as a whole number of `unit` within bounds (lowest, highest), default when unset; else ValueError naming variable."""
    number = default if value is None else _whole_number(value)
    lowest, highest = bounds
    if number is None or not lowest <= number <= highest:
        raise ValueError("%s must be a whole number of %s from %d to %d; got %r" % (variable, unit, lowest, highest, value))
    return number


def check_bake_timeout(value):
    """spot_image_bake_timeout: seconds a builder may take before provisioning gives up on it."""
    return _whole_number_within("spot_image_bake_timeout", value, DEFAULT_BAKE_TIMEOUT, BAKE_TIMEOUT_RANGE, "seconds")


def check_lock_timeout(value, bake_timeout=0):
    """spot_lock_timeout: seconds after which a run's lock is stale; longer than the stack's bake may take
    (bake_timeout, 0 for a stack that bakes no image)."""
    number = DEFAULT_LOCK_TIMEOUT if value is None else _whole_number(value)
    lowest, highest = LOCK_TIMEOUT_RANGE
    if number is None or not lowest <= number <= highest:
        raise ValueError("spot_lock_timeout must be a whole number of seconds from %d to %d; got %r" % (lowest, highest, value))
    if number <= bake_timeout:
        raise ValueError("spot_lock_timeout (%d) must be longer than spot_image_bake_timeout (%d): a run that bakes holds "
                         "the stack's lock at least that long" % (number, bake_timeout))
    return number


def check_instance_vars(instance_vars, allowed):
    """spot_instance_vars may set only the on-instance roles' public variables (allowed), nothing that the
    instance's play sets from the stack's settings, overrides the interpreter or the connection, or is internal."""
    if not isinstance(instance_vars, dict):
        raise ValueError("spot_instance_vars must be a mapping; got %r" % (instance_vars,))
    for key in instance_vars:
        if key not in allowed:
            raise ValueError("spot_instance_vars: key %r is not a variable the instance's roles take; allowed: %s"
                             % (key, ", ".join(sorted(allowed))))
    return instance_vars


def check_policy_arns(arns):
    """spot_instance_policy_arns: managed policies the operator attaches to the instance role."""
    if not isinstance(arns, list):
        raise ValueError("spot_instance_policy_arns must be a list of IAM policy ARNs; got %r" % (arns,))
    for index, arn in enumerate(arns):
        if not isinstance(arn, str) or not POLICY_ARN_PATTERN.match(arn):
            raise ValueError("spot_instance_policy_arns[%d] must be an IAM policy ARN such as "
                             "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore; got %r" % (index, arn))
    if len(set(arns)) != len(arns):
        raise ValueError("spot_instance_policy_arns lists a policy twice; got %r" % (arns,))
    return sorted(arns)


def check_endpoint_credentials(endpoint_url, access_key, secret_key):
    """Fixed credentials come in pairs, and only for an endpoint override (AWS takes the usual chain)."""
    if bool(access_key) != bool(secret_key) or (access_key and not endpoint_url):
        raise ValueError(
            "spot_endpoint_access_key and spot_endpoint_secret_key go together, and only with spot_endpoint_url "
            "(AWS itself takes credentials from the environment, ~/.aws or SSO); got an access key %s, a secret key %s "
            "and spot_endpoint_url %r" % ("set" if access_key else "empty", "set" if secret_key else "empty", endpoint_url)
        )


def check_pull_source(repo, version):
    """The user's project that the instance applies: a git URL that carries no credential, and a ref."""
    if not isinstance(repo, str) or not repo:
        raise ValueError("spot_pull_repo must be the git URL of your project (see examples/project); got %r" % (repo,))
    if CREDENTIAL_IN_URL_PATTERN.match(repo):
        # Never repeat it: the URL holds a password or a token.
        raise ValueError("spot_pull_repo must not hold credentials (they would land in the user-data, the instance's "
                         "settings and every pull log line); give a private repository's deploy key or token as the "
                         "SSM parameter named by spot_pull_credential")
    if not any(pattern.match(repo) for pattern in PULL_URL_PATTERNS):
        raise ValueError("spot_pull_repo must be an https://, ssh:// or scp-style (git@host:path) git URL, or file:/// "
                         "for a repository on the instance itself; got %r" % (repo,))
    if not isinstance(version, str) or not GIT_REF_PATTERN.match(version) or ".." in version:
        raise ValueError("spot_pull_version must be a branch, tag or commit of spot_pull_repo; got %r" % (version,))


def check_controller_pull_repo(repo):
    """spot_controller_pull_repo: where the controller asks for the project's commit (the stack image's key), when it
    reaches the project by another URL than the instance does (the sandbox: a local path); empty: spot_pull_repo."""
    if repo in (None, ""):
        return ""
    if isinstance(repo, str) and CREDENTIAL_IN_URL_PATTERN.match(repo):
        # Never repeat it: the URL holds a password or a token.
        raise ValueError("spot_controller_pull_repo must not hold credentials; the controller's git finds them itself "
                         "(a credential helper, ~/.ssh)")
    if not isinstance(repo, str) or not any(pattern.match(repo) for pattern in PULL_URL_PATTERNS):
        raise ValueError("spot_controller_pull_repo must be empty or an https://, ssh://, scp-style (git@host:path) or "
                         "file:/// git URL; got %r" % (repo,))
    return repo


def _check_own_parameter(variable, stack, parameter):
    """An SSM parameter that the operator stores and the instance reads: the stack's own, so that the instance
    role may read it, and none that spotkit.ec2 writes itself."""
    prefix = "/spotkit/%s/" % stack
    if (not isinstance(parameter, str) or not parameter.startswith(prefix) or parameter.endswith("/")
            or not SSM_NAME_PATTERN.match(parameter)):
        raise ValueError("%s must be the name of an SSM parameter under %s (the stack's own, which "
                         "its instances may read); got %r" % (variable, prefix, parameter))
    if parameter in (env_parameter(stack), lock_parameter(stack)):
        raise ValueError("%s must not be %s, a parameter that spotkit.ec2 writes itself; got %r"
                         % (variable, parameter, parameter))
    return parameter


def check_pull_credential(stack, parameter, repo=None):
    """The SSM SecureString with a private project's deploy key or token: the stack's own, and for a project
    reached over the network."""
    if parameter in (None, ""):
        return ""
    _check_own_parameter("spot_pull_credential", stack, parameter)
    if isinstance(repo, str) and repo.startswith("file:"):
        raise ValueError("spot_pull_credential is for a project reached over https:// or SSH; spot_pull_repo %r is on the "
                         "instance itself and needs none" % (repo,))
    return parameter


# --- Access without SSH (docs/operations.md#a-shell-on-the-instance) ----------------------------------


def check_access(stack, session_manager, tailscale, auth_parameter, tailscale_ssh):
    """Session Manager (on by default) and Tailscale (on request, with the SSM parameter holding its auth key or
    OAuth client secret, which the instance reads at boot). Returns what the instance's settings carry."""
    for variable, value in (("spot_session_manager", session_manager), ("spot_tailscale", tailscale),
                            ("spot_tailscale_ssh", tailscale_ssh)):
        _check_bool(variable, value)
    if not tailscale:
        if tailscale_ssh:
            raise ValueError("spot_tailscale_ssh is true but spot_tailscale is false: Tailscale SSH needs Tailscale;"
                             " set spot_tailscale: true, or leave spot_tailscale_ssh false")
        return {"session_manager": session_manager, "tailscale": None}
    if auth_parameter in (None, ""):
        raise ValueError("spot_tailscale is true but spot_tailscale_auth_parameter is empty: name the SSM SecureString"
                         " under /spotkit/%s/ that holds the Tailscale auth key or OAuth client secret" % stack)
    _check_own_parameter("spot_tailscale_auth_parameter", stack, auth_parameter)
    return {"session_manager": session_manager,
            "tailscale": {"auth_parameter": auth_parameter, "ssh": tailscale_ssh,
                          "hostname": resource_name(stack), "tag": "tag:" + resource_name(stack)}}


def _signer_key_error(key_type, key):
    """Why key is not a whole public key of key_type in base64, or None.

    The key is SSH's wire format: length-prefixed strings, the first one its type (RFC 4253, 6.6).
    """
    try:
        blob = base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError):
        return "the key is not base64"
    strings = []
    while len(blob) >= 4:
        length = int.from_bytes(blob[:4], "big")
        strings.append(blob[4:4 + length])
        blob = blob[4 + length:]
        if len(strings[-1]) != length:
            break
    if blob or len(strings) < 2 or strings[0] != key_type.encode() or (key_type == "ssh-ed25519" and len(strings[1]) != 32):
        return "the key is not a whole %s key" % key_type
    return None


def _signer_error(line):
    """Why line is not a line of an SSH allowed signers file, or None."""
    if line.strip().startswith("-----BEGIN"):
        return "an OpenPGP key; the instance checks SSH signatures, against allowed signers lines"
    fields = line.split()
    if len(fields) < 3 or not SIGNER_PRINCIPALS_PATTERN.match(fields[0]):
        return "a line is: principals (e.g. an e-mail address), options, key type, key"
    options = []
    if not SIGNER_KEY_TYPE_PATTERN.match(fields[1]):
        options = SIGNER_OPTIONS_SPLIT.findall(fields[1])
        fields = fields[:1] + fields[2:]
    bad = [option for option in options if not SIGNER_OPTION_PATTERN.match(option)]
    if bad:
        return "unknown option %s (options: cert-authority, namespaces=\"git\", valid-after=\"...\", valid-before=\"...\")" % bad[0]
    namespaces = [option for option in options if option.startswith("namespaces=")]
    if namespaces and "git" not in namespaces[0][len('namespaces="'):-1].split(","):
        return "its namespaces do not include git, the namespace of commit signatures"
    if len(fields) < 3 or fields[1] not in SIGNER_KEY_TYPES:
        return "the key type must be one of %s" % ", ".join(sorted(SIGNER_KEY_TYPES))
    return _signer_key_error(fields[1], fields[2])


def check_pull_verify(value):
    """spot_pull_verify: the SSH allowed signers whose signature a commit needs to be applied; none means no check.

    Returns the lines, stripped. They are public keys: the error messages repeat them.
    """
    if value in (None, "", []):
        return []
    if not isinstance(value, list):
        raise ValueError("spot_pull_verify must be a list of SSH allowed signers lines, such as "
                         "'you@example.com namespaces=\"git\" ssh-ed25519 AAAA...'; got %r" % (value,))
    lines = []
    for index, line in enumerate(value):
        reason = _signer_error(line) if isinstance(line, str) and _single_line(line) else "it is not a single line"
        if reason:
            raise ValueError("spot_pull_verify[%d] must be a line of an SSH allowed signers file (ssh-keygen(1)); got %r (%s)"
                             % (index, line, reason))
        lines.append(line.strip())
    return lines


def check_emails(value):
    """spot_alarm_email: one address or a list of addresses; none means no e-mail."""
    addresses = [] if value in (None, "", []) else [value] if isinstance(value, str) else value
    if not isinstance(addresses, list):
        raise ValueError("spot_alarm_email must be an e-mail address or a list of them; got %r" % (value,))
    for address in addresses:
        if not isinstance(address, str) or not EMAIL_PATTERN.match(address):
            raise ValueError("spot_alarm_email must hold e-mail addresses such as ops@example.com; got %r" % (address,))
    return addresses


# The alarms' thresholds, stack variables: (default, lowest, highest, whole numbers only, what it is).
ALARM_THRESHOLDS = {
    "spot_alarm_memory_percent": (90, 1, 99, False, "memory used, in % of the instance's"),
    "spot_alarm_disk_percent": (85, 1, 99, False, "disk used on /, in %"),
    "spot_alarm_cpu_percent": (90, 1, 99, False, "CPU used, in % (instance types that are not burstable)"),
    # The largest balance a burstable type holds is 4608 credits (t3.2xlarge, t4g.2xlarge).
    "spot_alarm_cpu_credits": (5, 1, 4608, False, "CPU credits left (burstable types)"),
    # The pull timer runs every 15 minutes: at most 4 runs an hour can fail.
    "spot_alarm_pull_failures": (2, 1, 4, True, "failed pull runs within an hour"),
}
HEALTH_CHECK_PATH_PATTERN = re.compile(r"^/[\x21-\x7e]{0,254}$")
# Route 53 searches the first 5120 bytes of the answer for at most 255 characters.
HEALTH_CHECK_MATCH_MAX = 255
WEBHOOK_PATTERN = re.compile(r"^https?://%s(?::[0-9]{1,5})?(?:/[^\s]*)?$" % _HOST)


def _check_threshold_of(get, variable, default):
    """check_threshold() of a variable as the stack has it, its default where it has none."""
    value = get(variable)
    return check_threshold(variable, default if value is None else value)


def check_threshold(variable, value):
    """A threshold of ALARM_THRESHOLDS: a number within its range (a numeric string is taken as one)."""
    default, lowest, highest, whole, what = ALARM_THRESHOLDS[variable]
    del default
    number = value
    if isinstance(value, str):
        try:
            number = float(value) if not whole else int(value)
        except ValueError:
            number = None
    if isinstance(number, bool) or not isinstance(number, (int, float)) or (whole and number != int(number)):
        number = None
    if number is None or not lowest <= number <= highest:
        raise ValueError("%s (%s) must be a %s from %s to %s; got %r"
                         % (variable, what, "whole number" if whole else "number", lowest, highest, value))
    return int(number) if whole or number == int(number) else number


def check_webhooks(value):
    """spot_alarm_webhooks: HTTP(S) URLs subscribed to the stack's topics."""
    if value in (None, ""):
        return []
    if not isinstance(value, list):
        raise ValueError("spot_alarm_webhooks must be a list of http:// or https:// URLs; got %r" % (value,))
    for index, url in enumerate(value):
        if not isinstance(url, str) or not WEBHOOK_PATTERN.match(url):
            raise ValueError("spot_alarm_webhooks[%d] must be an http:// or https:// URL such as "
                             "https://hooks.example.com/spotkit; got %r" % (index, url))
    if len(set(value)) != len(value):
        raise ValueError("spot_alarm_webhooks lists a URL twice; got %r" % (value,))
    return value


def check_health_check(path, match):
    """The path the outside health check asks for, and the optional string its answer must hold."""
    path = "/" if path in (None, "") else path
    if not isinstance(path, str) or not HEALTH_CHECK_PATH_PATTERN.match(path):
        raise ValueError("spot_alarm_health_check_path must be a path starting with / of at most 255 printable "
                         "characters without spaces; got %r" % (path,))
    match = "" if match is None else match
    if not isinstance(match, str) or len(match) > HEALTH_CHECK_MATCH_MAX or not _single_line(match):
        raise ValueError("spot_alarm_health_check_match must be a single line of at most %d characters, or empty; got %r"
                         % (HEALTH_CHECK_MATCH_MAX, match))
    return path, match


def check_alarm_emails(value):
    """check_emails(), and no address twice (SNS keeps one subscription per address, whatever its case)."""
    emails = check_emails(value)
    if len({address.lower() for address in emails}) != len(emails):
        raise ValueError("spot_alarm_email lists an address twice; got %r" % (emails,))
    return emails


def _alerting_checks(get):
    """The checks of the alerting variables, one per variable; an unset threshold takes its default."""
    checks = {
        "alarm_email": lambda: check_alarm_emails(get("spot_alarm_email")),
        "alarm_webhooks": lambda: check_webhooks(get("spot_alarm_webhooks")),
        "alarm_health_check": lambda: check_health_check(get("spot_alarm_health_check_path"), get("spot_alarm_health_check_match")),
    }
    for variable, spec in ALARM_THRESHOLDS.items():
        checks[variable] = functools.partial(_check_threshold_of, get, variable, spec[0])
    return checks


def alerting(checked):
    """What the plan says of alerting, from the checked alerting variables."""
    path, match = checked["alarm_health_check"]
    return {"emails": checked["alarm_email"], "webhooks": checked["alarm_webhooks"],
            "thresholds": {variable: checked[variable] for variable in ALARM_THRESHOLDS},
            "health_check_path": path, "health_check_match": match}


# --- The state bucket (docs/provisioning.md#the-state-bucket) ----------------------------------------

# A stack whose services declare state: paths keeps them in an S3 bucket of its own, one object per service
# under STATE_KEY_PREFIX. Its default name holds the account, read from AWS at provision time.
STATE_KEY_PREFIX = "state/"
ACCOUNT_ID_LENGTH = 12
BUCKET_NAME_MAX = 63
# S3's rules for a new bucket's name, without '.': a dotted name breaks virtual-hosted HTTPS (the certificate
# is *.s3.<region>.amazonaws.com) and S3 Transfer Acceleration.
BUCKET_NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
BUCKET_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
BUCKET_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", "--x-s3", "--table-s3")
# Old versions of a state object are kept this many days after a newer save replaces them.
DEFAULT_NONCURRENT_DAYS = 30
NONCURRENT_DAYS_RANGE = (1, 3650)


def stack_has_state(services):
    """Whether a service of the stack declares state: paths, and so the stack has a state bucket."""
    return isinstance(services, list) and any(isinstance(service, dict) and service.get("state") for service in services)


def state_bucket_prefix(stack, region):
    """The default name of the stack's state bucket, but for the account id that ends it."""
    return "%s%s-%s-" % (RESOURCE_PREFIX, stack, region)


def _default_bucket_length(stack, region):
    return len(state_bucket_prefix(stack, region)) + ACCOUNT_ID_LENGTH


def check_state_bucket(stack, region, name, services):
    """spot_state_bucket: a bucket name of S3's rules, or empty for the default name, which must fit S3's 63 characters
    when the stack has a bucket. Returns the name, or ""."""
    if name in (None, ""):
        if stack_has_state(services) and isinstance(stack, str) and isinstance(region, str):
            if _default_bucket_length(stack, region) > BUCKET_NAME_MAX:
                raise ValueError("spot_state_bucket is empty, and the state bucket's default name %s<account id> would be %d "
                                 "characters, over S3's %d; set spot_state_bucket to a name of your own"
                                 % (state_bucket_prefix(stack, region), _default_bucket_length(stack, region), BUCKET_NAME_MAX))
        return ""
    if not isinstance(name, str) or not BUCKET_NAME_PATTERN.match(name):
        raise ValueError("spot_state_bucket must be an S3 bucket name: 3-%d lowercase letters, digits and '-', starting and "
                         "ending with a letter or digit (no '.', which breaks HTTPS to the bucket); got %r" % (BUCKET_NAME_MAX, name))
    if name.startswith(BUCKET_RESERVED_PREFIXES) or name.endswith(BUCKET_RESERVED_SUFFIXES):
        raise ValueError("spot_state_bucket must not start with %s or end with %s, which S3 reserves; got %r"
                         % (", ".join(BUCKET_RESERVED_PREFIXES), ", ".join(BUCKET_RESERVED_SUFFIXES), name))
    return name


def check_keep_bucket(value):
    """spot_state_keep_bucket: whether teardown keeps the state bucket; unset means no."""
    return _flag("spot_state_keep_bucket", value)


def check_noncurrent_days(value):
    """spot_state_noncurrent_days: days an old version of a state object is kept once a newer save replaced it."""
    return _whole_number_within("spot_state_noncurrent_days", value, DEFAULT_NONCURRENT_DAYS, NONCURRENT_DAYS_RANGE, "days")


def state_bucket_plan(stack, region, checked, services):
    """What provisioning and teardown need of the state bucket. `enabled`: a service declares state, so the stack
    has the bucket; `name`: spot_state_bucket, or empty for the default name, `prefix` and the account id;
    `exists_possibly`: a bucket of that name may have been made (a default name too long for S3 never was), which
    teardown removes whether or not a service still declares state."""
    name = checked["state_bucket"]
    return {"enabled": stack_has_state(services), "name": name, "prefix": state_bucket_prefix(stack, region),
            "exists_possibly": bool(name) or _default_bucket_length(stack, region) <= BUCKET_NAME_MAX,
            "keep": checked["state_keep_bucket"], "noncurrent_days": checked["state_noncurrent_days"], "key_prefix": STATE_KEY_PREFIX}


# --- The plan of a stack ----------------------------------------------------------------------------

# The stack variables the plan reads (the stack API, docs/stack-api.md); the role's argument spec
# has already checked their types.
PLAN_VARIABLES = (
    "spot_state", "spot_region", "spot_services", "spot_instance_types", "spot_image_id", "spot_domain", "spot_hosted_zone",
    "spot_ssh_cidrs", "spot_key_name", "spot_instance_vars", "spot_pull_repo", "spot_pull_version", "spot_pull_credential", "spot_pull_verify",
    "spot_controller_pull_repo",
    "spot_endpoint_url", "spot_instance_endpoint_url", "spot_endpoint_access_key", "spot_endpoint_secret_key",
    "spot_alarm_email", "spot_instance_policy_arns", "spot_root_volume_size",
    "spot_alarm_webhooks", "spot_alarm_health_check_path", "spot_alarm_health_check_match",
    "spot_image_bake", "spot_image_keep", "spot_image_bake_timeout", "spot_lock_timeout",
    "spot_state_bucket", "spot_state_keep_bucket", "spot_state_noncurrent_days",
    "spot_session_manager", "spot_tailscale", "spot_tailscale_auth_parameter", "spot_tailscale_ssh",
) + tuple(ALARM_THRESHOLDS)


class StackError(ValueError):
    """Every rule a stack breaks, one message each."""

    def __init__(self, errors):
        super().__init__("; ".join(errors))
        self.errors = errors


def canonical_rules(rules):
    """Security group rules in one order, so that the rules wanted and the rules found compare equal."""
    return sorted(rules, key=lambda rule: json.dumps(rule, sort_keys=True))


def security_group_rules(services, cidrs):
    """Inbound rules for amazon.aws.ec2_security_group: the services' public host ports open to all, 22 only to cidrs.

    In canonical order (canonical_rules), as spotkit.ec2.stack_info reports the rules it finds.
    """
    rules = [
        {"proto": port["protocol"], "ports": [port["host"]], "cidr_ip": "0.0.0.0/0", "rule_desc": port["service"]}
        for port in service_ports(services) if not port["loopback"]
    ]
    for version, cidr in cidrs:
        rules.append({"proto": "tcp", "ports": [SSH_PORT], "cidr_ipv6" if version == 6 else "cidr_ip": cidr, "rule_desc": "ssh"})
    return canonical_rules(rules)


def log_groups(stack, services):
    """The stack's log groups and their retention: one per service, the system log, the pull log."""
    groups = [
        {"name": log_group(stack, service["name"]), "retention": service.get("log_retention_days", DEFAULT_LOG_RETENTION_DAYS)}
        for service in services
    ]
    return groups + [{"name": log_group(stack, name), "retention": DEFAULT_LOG_RETENTION_DAYS} for name in (SYSTEM_LOG, PULL_LOG)]


def settings(stack, variables):
    """What /etc/spotkit/stack.json holds on the instance (docs/architecture.md): no env value in it.

    The keys of spot_instance_vars come first, so that no spot_* setting can be overridden.
    """
    services = variables["spot_services"]
    document = dict(variables.get("spot_instance_vars") or {})
    document.update({
        "spot_stack": stack,
        "spot_region": variables["spot_region"],
        "spot_services": [public_service(service) for service in services],
        "spot_pull_repo": variables["spot_pull_repo"],
        "spot_pull_version": variables["spot_pull_version"],
    })
    # The parameter's version (spot_env_version) is added once it is stored: a changed env changes the settings.
    if any(service.get("env") for service in services):
        document["spot_env_parameter"] = env_parameter(stack)
    if variables.get("spot_instance_endpoint_url"):
        document["spot_endpoint_url"] = variables["spot_instance_endpoint_url"]
    # The parameter's name only: the instance reads the credential itself, at pull time.
    if variables.get("spot_pull_credential"):
        document["spot_pull_credential"] = variables["spot_pull_credential"]
    # Public keys: the instance checks the commits it applies against them.
    if variables.get("spot_pull_verify"):
        document["spot_pull_verify"] = check_pull_verify(variables["spot_pull_verify"])
    # Only what differs from the defaults, so that a stack that keeps them keeps its user-data. The parameter's
    # name only: the instance reads the secret itself.
    access = check_access(stack, variables.get("spot_session_manager", True), variables.get("spot_tailscale", False),
                          variables.get("spot_tailscale_auth_parameter", ""), variables.get("spot_tailscale_ssh", False))
    if not access["session_manager"]:
        document["spot_session_manager"] = False
    if access["tailscale"]:
        document["spot_tailscale"] = access["tailscale"]
    return document


def _bake_timeout_of(get):
    """The seconds a run of the stack may bake, for check_lock_timeout(): 0 when it bakes no image or when the
    image variables are bad themselves (their own checks say so)."""
    try:
        return check_bake_timeout(get("spot_image_bake_timeout")) if check_image_bake(get("spot_image_bake")) else 0
    except ValueError:
        return 0


def _checks(stack, variables, instance_variables):
    """One check per rule, each raising ValueError when its rule is broken; all run, so every error shows."""
    get = variables.get
    checks = {
        "stack": lambda: check_name("the stack name (inventory hostname)", stack),
        "region": lambda: check_region(get("spot_region")),
        "services": lambda: check_services(get("spot_services")),
        "types": lambda: check_instance_types(get("spot_instance_types")),
        "image_id": lambda: check_image_id(get("spot_image_id")),
        "dns": lambda: check_domain(get("spot_domain"), get("spot_hosted_zone")),
        "cidrs": lambda: check_ssh_access(get("spot_ssh_cidrs", []), get("spot_key_name", "")),
        "instance_vars": lambda: check_instance_vars(get("spot_instance_vars", {}), instance_variables),
        "root_volume": lambda: "spot_root_volume_size" not in variables or check_root_volume_size(get("spot_root_volume_size")),
        # Only what an instance runs needs a project; a stack that goes needs none.
        "pull": lambda: get("spot_state", "present") == "absent" or check_pull_source(get("spot_pull_repo"), get("spot_pull_version")),
        "pull_credential": lambda: check_pull_credential(stack, get("spot_pull_credential"), get("spot_pull_repo")),
        "controller_pull_repo": lambda: check_controller_pull_repo(get("spot_controller_pull_repo", "")),
        "pull_verify": lambda: check_pull_verify(get("spot_pull_verify")),
        "access": lambda: check_access(stack, get("spot_session_manager", True), get("spot_tailscale", False),
                                       get("spot_tailscale_auth_parameter", ""), get("spot_tailscale_ssh", False)),
        "policy_arns": lambda: check_policy_arns(get("spot_instance_policy_arns", [])),
        "image_bake": lambda: check_image_bake(get("spot_image_bake")),
        "image_keep": lambda: check_image_keep(get("spot_image_keep")),
        "bake_timeout": lambda: check_bake_timeout(get("spot_image_bake_timeout")),
        "lock_timeout": lambda: check_lock_timeout(get("spot_lock_timeout"), _bake_timeout_of(get)),
        "credentials": lambda: check_endpoint_credentials(
            get("spot_endpoint_url"), get("spot_endpoint_access_key"), get("spot_endpoint_secret_key")),
        "state_bucket": lambda: check_state_bucket(stack, get("spot_region"), get("spot_state_bucket"), get("spot_services")),
        "state_keep_bucket": lambda: check_keep_bucket(get("spot_state_keep_bucket")),
        "state_noncurrent_days": lambda: check_noncurrent_days(get("spot_state_noncurrent_days")),
    }
    checks.update(_alerting_checks(get))
    return checks


def instance_variables(role_options):
    """The keys spot_instance_vars may set, from the on-instance roles' options ({role: [option, ...]})."""
    return frozenset(option for role in INSTANCE_ROLES for option in role_options[role]) - SET_BY_PULL


def plan_stack(stack, variables, instance_variables_allowed):
    """Check a stack's variables and derive what provisioning needs; raise StackError with every broken rule.

    instance_variables_allowed: the keys spot_instance_vars may set (instance_variables()).
    Returns no secret: neither env values nor the endpoint's secret key.
    """
    checked, errors = {}, []
    for key, check in _checks(stack, variables, instance_variables_allowed).items():
        try:
            checked[key] = check()
        except (TypeError, ValueError) as exc:
            errors.append(str(exc))
    if errors:
        raise StackError(errors)
    arch, burstable = checked["types"]
    domain, zone = checked["dns"]
    services = variables["spot_services"]
    return {
        "stack": stack,
        "name": resource_name(stack),
        "iam_name": iam_name(stack, variables["spot_region"]),
        "tags": resource_tags(stack),
        "tag_key": TAG_KEY,
        "base_image_tag": BASE_IMAGE_TAG,
        "architecture": arch,
        "burstable": burstable,
        "image_id": checked["image_id"],
        "image_parameter": DEBIAN_IMAGE_PARAMETER % DEBIAN_ARCHITECTURES[arch],
        "domain": domain,
        "zone": zone,
        "security_group_rules": security_group_rules(services, checked["cidrs"]),
        "log_groups": log_groups(stack, services),
        "env_parameter": env_parameter(stack),
        "env_services": [service["name"] for service in services if service.get("env")],
        "instance_parameters": instance_parameters(stack, variables),
        "metrics_namespace": metrics_namespace(stack),
        "alerting": alerting(checked),
        "policy_arns": checked["policy_arns"],
        "settings": settings(stack, variables),
        "image": {"bake": checked["image_bake"], "keep": checked["image_keep"], "bake_timeout": checked["bake_timeout"],
                  "role_tag": ROLE_TAG, "bake_tag": BAKE_TAG, "bake_error_tag": BAKE_ERROR_TAG,
                  "builder_name": "%s%s-builder" % (RESOURCE_PREFIX, stack)},
        "lock": {"parameter": lock_parameter(stack), "timeout": checked["lock_timeout"]},
        "state_bucket": state_bucket_plan(stack, variables["spot_region"], checked, services),
        "access": checked["access"],
    }
