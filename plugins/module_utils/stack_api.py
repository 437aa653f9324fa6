# -*- coding: utf-8 -*-
# Copyright: spotkit.ec2 contributors
# MIT License (see LICENSE)
"""Rules of the stack API that more than one plugin enforces.

Each check raises ValueError with a message that names the service, the field and the bad
value; plugins turn it into their own error type.
"""

from __future__ import annotations

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
