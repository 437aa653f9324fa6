# -*- coding: utf-8 -*-
# Copyright: spotkit.ec2 contributors
# Licensed under the MIT License (see LICENSE) or, at your option, the GNU General Public License v3.0+
# (see https://www.gnu.org/licenses/gpl-3.0.txt), like the amazon.aws module_utils it builds on.
"""Who this instance is (private to this collection): its id and region from cloud-init's instance data, else from
the instance metadata service with an IMDSv2 session token, never IMDSv1. The on-instance modules that act on the
instance itself (stack_eip_attach, stack_launch_hook) share it."""

from __future__ import annotations

import json
import re
import time
from urllib.error import URLError

from ansible.module_utils.urls import open_url

INSTANCE_ID_PATTERN = re.compile(r"^i-([0-9a-f]{8}|[0-9a-f]{17})$")

IMDS_TOKEN_PATH = "/latest/api/token"
IMDS_DOCUMENT_PATH = "/latest/dynamic/instance-identity/document"
# The token only has to outlive the one read that follows it.
IMDS_TOKEN_TTL_SECONDS = 60
IMDS_TIMEOUT_SECONDS = 5
IMDS_TRIES = 3


class IdentityError(Exception):
    """The instance id or the region could not be found out."""


def read_instance_data(path):
    """v1 of cloud-init's instance data, or {} when there is no such file."""
    try:
        with open(path, encoding="utf-8") as stream:
            data = json.load(stream)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise IdentityError("Cannot read cloud-init's instance data %s: %s" % (path, exc)) from exc
    v1 = data.get("v1") if isinstance(data, dict) else None
    return v1 if isinstance(v1, dict) else {}


def _imds_request(opener, sleep, method, base_url, path, headers, what):
    """The body of one IMDS answer, trying a few times; raises IdentityError naming the request, never the token."""
    problem = ""
    for attempt in range(IMDS_TRIES):
        if attempt:
            sleep(1)
        try:
            response = opener(base_url + path, method=method, headers=headers, use_proxy=False,
                              timeout=IMDS_TIMEOUT_SECONDS, follow_redirects="none")
            return response.read().decode("utf-8")
        except URLError as exc:  # HTTPError included: it is a URLError
            code = getattr(exc, "code", None)
            problem = "HTTP %s %s" % (code, getattr(exc, "reason", "")) if code else str(getattr(exc, "reason", exc))
        except (OSError, ValueError) as exc:  # timeouts, resets, bad status lines
            problem = str(exc) or type(exc).__name__
    raise IdentityError("No %s from %s (%s %s): %s" % (what, base_url, method, path, problem))


def imds_document(imds_url, opener=None, sleep=None):
    """The instance identity document, read with an IMDSv2 session token (never without one)."""
    opener, sleep = opener or open_url, sleep or time.sleep
    base_url = imds_url.rstrip("/")
    token = _imds_request(opener, sleep, "PUT", base_url, IMDS_TOKEN_PATH,
                          {"X-aws-ec2-metadata-token-ttl-seconds": str(IMDS_TOKEN_TTL_SECONDS)}, "IMDSv2 token")
    if not token:
        raise IdentityError("No IMDSv2 token from %s (PUT %s): empty answer" % (base_url, IMDS_TOKEN_PATH))
    body = _imds_request(opener, sleep, "GET", base_url, IMDS_DOCUMENT_PATH,
                         {"X-aws-ec2-metadata-token": token}, "instance identity document")
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise IdentityError("The instance identity document from %s is not JSON: %s" % (base_url, exc)) from exc
    return document if isinstance(document, dict) else {}


def identity(instance_id, region, instance_data_path, imds_url, opener=None, sleep=None):
    """Instance id and region, each with where it came from: given, else the instance data, else IMDSv2."""
    found = {
        "instance_id": instance_id or "", "instance_id_source": "instance_id option" if instance_id else "",
        "region": region or "", "region_source": "region option" if region else "",
    }
    sources = (
        (lambda: read_instance_data(instance_data_path), instance_data_path, "instance_id", "region"),
        (lambda: imds_document(imds_url, opener, sleep), "IMDSv2 at %s" % imds_url, "instanceId", "region"),
    )
    for read, source, id_key, region_key in sources:
        if found["instance_id"] and found["region"]:
            break
        data = read()
        for key, data_key in (("instance_id", id_key), ("region", region_key)):
            if not found[key] and isinstance(data.get(data_key), str) and data[data_key]:
                found[key], found[key + "_source"] = data[data_key], source
    for key in ("instance_id", "region"):
        if not found[key]:
            raise IdentityError("No %s: neither %s nor the instance metadata service at %s gave one"
                                % (key.replace("_", " "), instance_data_path, imds_url))
    if not INSTANCE_ID_PATTERN.match(found["instance_id"]):
        raise IdentityError("The instance id from %s is not an EC2 instance id: %r"
                            % (found["instance_id_source"], found["instance_id"]))
    return found
