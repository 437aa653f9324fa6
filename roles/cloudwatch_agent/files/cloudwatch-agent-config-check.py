# -*- coding: utf-8 -*-
# Copyright: spotkit.ec2 contributors
# MIT License (see LICENSE)
"""Check a CloudWatch agent configuration against the agent's JSON schema.

usage: python3 cloudwatch-agent-config-check.py SCHEMA CONFIG

Exits 0 when CONFIG matches SCHEMA (the schema the agent package installs); otherwise prints each
violation as "<JSON path>: <message>" and exits 1. The cloudwatch_agent role runs it before it
writes the configuration, so a config that the agent would refuse is never applied.
"""

from __future__ import annotations

import json
import sys

import jsonschema

# A violation quotes the bad value, which may be long: keep its start and the rule at its end.
MAX_MESSAGE = 300
KEPT = 120


def violations(schema, config):
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = sorted(validator.iter_errors(config), key=lambda error: [str(part) for part in error.absolute_path])
    for error in errors:
        path = "/".join(str(part) for part in error.absolute_path) or "(top level)"
        message = error.message
        if len(message) > MAX_MESSAGE:
            message = message[:KEPT] + " ... " + message[-KEPT:]
        yield "%s: %s" % (path, message)


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as schema_file:
        schema = json.load(schema_file)
    try:
        with open(argv[2], encoding="utf-8") as config_file:
            config = json.load(config_file)
    except ValueError as exc:
        print("%s is not JSON: %s" % (argv[2], exc))
        return 1
    found = list(violations(schema, config))
    for line in found:
        print(line)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
