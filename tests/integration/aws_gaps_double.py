"""Test double: a proxy in front of the AWS emulator that answers the few AWS calls moto lacks.

moto (5.2.5) implements no instance refresh (StartInstanceRefresh, DescribeInstanceRefreshes) and no
DeleteLaunchTemplateVersions, holds none of the public SSM parameters in which Debian publishes its
image ids, and refuses to store parameters named /aws/...: nothing real answers these calls here.
This double answers them itself and forwards every other request to the emulator unchanged, so that
the role's real calls can be observed:
- GetParameter for a name in `public_parameters`: answered with that value; every name asked under
  /aws/service/ is recorded in `parameter_requests`.
- StartInstanceRefresh: recorded in `refreshes` (group, preferences), answered with a new id. The
  refresh stays "InProgress", as a real one does for minutes; it does not replace instances.
- DescribeInstanceRefreshes: the recorded refreshes of the group.
- DeleteLaunchTemplateVersions: recorded in `deleted_template_versions` and answered as done, without
  deleting anything; amazon.aws.ec2_launch_template calls it right before DeleteLaunchTemplate, which
  moto implements and which removes every version.
"""

from __future__ import annotations

import http.client
import json
import threading
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

AUTOSCALING_NS = "http://autoscaling.amazonaws.com/doc/2011-01-01/"
EC2_NS = "http://ec2.amazonaws.com/doc/2016-11-15/"
# Not forwarded: they describe this connection, not the request.
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade"}


def _xml_response(action, result):
    return (
        '<{a}Response xmlns="{ns}"><{a}Result>{r}</{a}Result>'
        "<ResponseMetadata><RequestId>{id}</RequestId></ResponseMetadata></{a}Response>"
    ).format(a=action, ns=AUTOSCALING_NS, r=result, id=uuid.uuid4()).encode()


class AwsGapsDouble:
    """Start with `start()`; point the AWS clients at `url`."""

    def __init__(self, upstream, public_parameters=None):
        self.upstream = urlsplit(upstream)
        self._initial_parameters = dict(public_parameters or {})
        self.public_parameters = dict(self._initial_parameters)
        self.parameter_requests = []
        self.refreshes = []
        self.deleted_template_versions = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self._server.server_address[1]

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()

    def reset(self):
        """Forget what was asked, and any parameter added since the start."""
        with self._lock:
            self.public_parameters = dict(self._initial_parameters)
            self.parameter_requests.clear()
            self.refreshes.clear()
            self.deleted_template_versions.clear()

    # --- the calls this double answers itself

    def _get_parameter(self, body):
        name = json.loads(body or b"{}").get("Name", "")
        if name.startswith("/aws/service/"):
            with self._lock:
                self.parameter_requests.append(name)
        if name not in self.public_parameters:
            return None
        parameter = {
            "Name": name, "Type": "String", "Value": self.public_parameters[name], "Version": 1,
            "DataType": "aws:ec2:image", "LastModifiedDate": 0,
            "ARN": "arn:aws:ssm:us-east-1::parameter%s" % name,
        }
        return 200, "application/x-amz-json-1.1", json.dumps({"Parameter": parameter}).encode()

    def _start_refresh(self, form):
        preferences = {key.split(".", 1)[1]: value for key, value in form.items() if key.startswith("Preferences.")}
        refresh = {
            "id": str(uuid.uuid4()), "group": form.get("AutoScalingGroupName"), "preferences": preferences,
            "status": "InProgress", "start": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        with self._lock:
            self.refreshes.append(refresh)
        result = "<InstanceRefreshId>%s</InstanceRefreshId>" % refresh["id"]
        return 200, "text/xml", _xml_response("StartInstanceRefresh", result)

    def _describe_refreshes(self, form):
        ids = {value for key, value in form.items() if key.startswith("InstanceRefreshIds.member.")}
        with self._lock:
            found = [r for r in self.refreshes if r["group"] == form.get("AutoScalingGroupName") and (not ids or r["id"] in ids)]
        members = "".join(
            "<member><InstanceRefreshId>%s</InstanceRefreshId><AutoScalingGroupName>%s</AutoScalingGroupName>"
            "<Status>%s</Status><PercentageComplete>0</PercentageComplete><StartTime>%s</StartTime></member>"
            % (r["id"], escape(r["group"]), r["status"], r["start"])
            for r in found
        )
        return 200, "text/xml", _xml_response("DescribeInstanceRefreshes", "<InstanceRefreshes>%s</InstanceRefreshes>" % members)

    def _delete_template_versions(self, form):
        template = form.get("LaunchTemplateId") or form.get("LaunchTemplateName")
        versions = [value for key, value in sorted(form.items()) if key.startswith("LaunchTemplateVersion.")]
        with self._lock:
            self.deleted_template_versions.extend((template, version) for version in versions)
        key = "launchTemplateId" if form.get("LaunchTemplateId") else "launchTemplateName"
        items = "".join("<item><%s>%s</%s><versionNumber>%s</versionNumber></item>" % (key, escape(template), key, v) for v in versions)
        payload = (
            '<DeleteLaunchTemplateVersionsResponse xmlns="%s"><requestId>%s</requestId>'
            "<successfullyDeletedLaunchTemplateVersionSet>%s</successfullyDeletedLaunchTemplateVersionSet>"
            "<unsuccessfullyDeletedLaunchTemplateVersionSet/></DeleteLaunchTemplateVersionsResponse>"
        ) % (EC2_NS, uuid.uuid4(), items)
        return 200, "text/xml", payload.encode()

    def answer(self, headers, body):
        """(status, content type, body) when this double answers the request itself, else None."""
        if headers.get("X-Amz-Target") == "AmazonSSM.GetParameter":
            return self._get_parameter(body)
        if "x-www-form-urlencoded" in headers.get("Content-Type", ""):
            form = {key: values[0] for key, values in parse_qs(body.decode()).items()}
            action = form.get("Action")
            if action == "StartInstanceRefresh":
                return self._start_refresh(form)
            if action == "DescribeInstanceRefreshes":
                return self._describe_refreshes(form)
            if action == "DeleteLaunchTemplateVersions":
                return self._delete_template_versions(form)
        return None

    def forward(self, method, path, headers, body):
        connection = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=120)
        try:
            forwarded = {key: value for key, value in headers.items() if key.lower() not in HOP_BY_HOP}
            connection.request(method, path, body=body, headers=forwarded)
            response = connection.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            connection.close()

    def _handler_class(self):
        double = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                answered = double.answer(self.headers, body)
                if answered is not None:
                    status, content_type, payload = answered
                    headers = [("Content-Type", content_type)]
                else:
                    status, headers, payload = double.forward(self.command, self.path, self.headers, body)
                    headers = [(k, v) for k, v in headers if k.lower() not in HOP_BY_HOP | {"content-length"}]
                self.send_response(status)
                for key, value in headers:
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

            def log_message(self, *args):
                pass

        return Handler
