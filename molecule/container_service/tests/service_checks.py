"""Helpers of the container_service tests: HTTP from inside the test host, units, containers, waiting."""

from __future__ import annotations

import os
import re
import time

import boto3
import yaml

SECRET = "s3cret-4d1c9e"
BLOG_PORT = 8080
NOTES_PORT = 8081
LEDGER_PORT = 8082
BLOG_HEADING = "<h1>Notes from a spot instance</h1>"


def scenario_vars():
    """The variables converge.yml reads, so that tests derive changed lists from the same source."""
    with open(os.path.join(os.environ["MOLECULE_SCENARIO_DIRECTORY"], "vars", "converge.yml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def emulator_client(service, **options):
    """A boto3 client of the AWS emulator that prepare.yml started on the host."""
    variables = scenario_vars()
    return boto3.client(service, endpoint_url="http://127.0.0.1:%d" % variables["scenario_emulator_port"],
                        region_name=variables["container_service_state_region"], aws_access_key_id="molecule",
                        aws_secret_access_key="molecule", **options)


def journal_cursor(host):
    """Where the host's journal ends now: lines after it are those of what follows."""
    return re.search(r"-- cursor: (\S+)", host.check_output("journalctl --lines 0 --show-cursor --no-pager")).group(1)


def http_get(host, port, path="/"):
    """(status, body) of a request made on the test host, as a visitor of the instance would; status 0 when refused."""
    result = host.run("curl --silent --max-time 5 --write-out '\\n%%{http_code}' http://127.0.0.1:%d%s" % (port, path))
    body, dummy, status = result.stdout.rpartition("\n")
    return (int(status) if status.isdigit() else 0), body


def wait_for_page(host, port, text, timeout=30.0, path="/"):
    """Seconds until the page holds text; fails with the last answer after timeout seconds."""
    start = time.monotonic()
    while True:
        status, body = http_get(host, port, path)
        elapsed = time.monotonic() - start
        if status == 200 and text in body:
            return elapsed
        if elapsed > timeout:
            raise AssertionError("no page with %r on port %d after %.0f s; last answer %d: %s" % (text, port, timeout, status, body[-300:]))
        time.sleep(0.25)


def unit_property(host, service, name):
    return host.check_output("systemctl show --property %s --value spotkit-%s.service" % (name, service))


def invocation_id(host, service):
    """Changes with every start of the unit: the proof of a restart, or of none."""
    return unit_property(host, service, "InvocationID")


def container_field(host, container, field):
    """A field of `docker inspect`, or None when there is no such container."""
    result = host.run("docker container inspect --format '{{%s}}' %s" % (field, container))
    return result.stdout.strip() if result.rc == 0 else None
