"""What EC2 does by itself, which has no API, for the sandbox's drills to ask of the emulator:

    POST /spotkit-emulator/rebalance-recommendation?InstanceId=i-...

EC2 signals a rebalance recommendation for the instance (its spot capacity is at elevated risk). The instance's
metadata service serves it too, but that is the instance's side (the sandbox's IMDS double); this is Auto Scaling's:
a group with CapacityRebalance launches a replacement first and terminates the instance once the replacement is in
service (moto_lifecycle.replace_launch_first). Answers JSON: {"InstanceId", "Group", "Replacement"} (Replacement
null when the group does not rebalance, as AWS then does nothing), or 404 when no group holds the instance.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs

from moto.autoscaling.models import autoscaling_backends
from moto.moto_server.werkzeug_app import DomainDispatcherApplication

import moto_lifecycle

PREFIX = "/spotkit-emulator/"
_original = {}


def _group_of(instance_id):
    """(backend, group) of the Auto Scaling group that holds the instance, or (None, None)."""
    for regions in autoscaling_backends.values():
        for backend in regions.values():
            for group in backend.autoscaling_groups.values():
                if instance_id in {state.instance.id for state in group.instance_states}:
                    return backend, group
    return None, None


def rebalance_recommendation(instance_id):
    """(HTTP status, answer) for a rebalance recommendation of the instance."""
    backend, group = _group_of(instance_id)
    if group is None:
        return 404, {"message": "no Auto Scaling group holds instance %s" % instance_id}
    moto_lifecycle.expire_lifecycle_actions(backend)
    replacement = moto_lifecycle.replace_launch_first(backend, group, instance_id) if group.capacity_rebalance else None
    return 200, {"InstanceId": instance_id, "Group": group.name, "Replacement": replacement}


def dispatch(self, environ, start_response):
    """DomainDispatcherApplication's: the emulator's own paths first, then moto's."""
    path = environ.get("PATH_INFO", "")
    if not path.startswith(PREFIX):
        return _original["dispatch"](self, environ, start_response)
    instance_id = parse_qs(environ.get("QUERY_STRING", "")).get("InstanceId", [""])[0]
    if environ.get("REQUEST_METHOD") != "POST" or path != PREFIX + "rebalance-recommendation":
        status, answer = 404, {"message": "the emulator has POST %srebalance-recommendation only" % PREFIX}
    elif not instance_id:
        status, answer = 400, {"message": "InstanceId is required"}
    else:
        status, answer = rebalance_recommendation(instance_id)
    body = json.dumps(answer).encode()
    start_response("%d %s" % (status, {200: "OK", 400: "Bad Request", 404: "Not Found"}[status]),
                   [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def install():
    """Patch moto's server; call once, before the server starts."""
    _original["dispatch"] = DomainDispatcherApplication.__call__
    DomainDispatcherApplication.__call__ = dispatch
