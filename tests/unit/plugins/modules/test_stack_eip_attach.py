"""Unit tests for the spotkit.ec2.stack_eip_attach module: which EC2 calls it makes, how it retries, and where it
learns the instance's identity. AWS is a botocore Stubber; the metadata service is a local HTTP server."""

from __future__ import annotations

import datetime
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest
from botocore.stub import Stubber

from ansible.module_utils import _internal as module_internal
from ansible.module_utils.common import warnings as module_warnings
from ansible.module_utils.testing import patch_module_args
from ansible_collections.amazon.aws.plugins.module_utils import cloud
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.spotkit.ec2.plugins.module_utils import _instance
from ansible_collections.spotkit.ec2.plugins.modules import stack_eip_attach

INSTANCE = "i-0123456789abcdef0"
PREVIOUS = "i-0fedcba9876543210"
BY_TAG = [{"Name": "tag:spotkit:stack", "Values": ["blog"]}]


def address(**changes):
    found = {"AllocationId": "eipalloc-1", "PublicIp": "198.51.100.7", "Domain": "vpc"}
    found.update(changes)
    return found


def associate_params(instance_id=INSTANCE):
    return {"AllocationId": "eipalloc-1", "InstanceId": instance_id, "AllowReassociation": True}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    """No region, credentials or proxies from the machine running the tests."""
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID",
                 "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_URL", "http_proxy", "HTTP_PROXY", "no_proxy",
                 "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def stubbed(service):
    """A stubbed client of `service`: every call must be announced, and every announced call made."""
    client = boto3.client(service, region_name="eu-west-1", aws_access_key_id="k", aws_secret_access_key="s")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


@pytest.fixture(name="ec2")
def fixture_ec2():
    yield from stubbed("ec2")


@pytest.fixture(name="autoscaling")
def fixture_autoscaling():
    yield from stubbed("autoscaling")


def group_of(ec2_stubber, autoscaling_stubber, members):
    """The stack's group holds `members`, (id, lifecycle state, launch minute) each, as the module asks for them."""
    autoscaling_stubber.add_response("describe_auto_scaling_groups", {"AutoScalingGroups": [{
        "AutoScalingGroupName": "spotkit-blog", "MinSize": 1, "MaxSize": 1, "DesiredCapacity": 1, "DefaultCooldown": 300,
        "AvailabilityZones": ["eu-west-1a"], "HealthCheckType": "EC2", "CreatedTime": datetime.datetime(2026, 1, 1),
        "Instances": [{"InstanceId": member, "LifecycleState": state, "HealthStatus": "Healthy", "AvailabilityZone": "eu-west-1a",
                       "ProtectedFromScaleIn": False} for member, state, _minute in members]}]},
        {"AutoScalingGroupNames": ["spotkit-blog"]})
    if members:
        ec2_stubber.add_response("describe_instances", {"Reservations": [{"Instances": [
            {"InstanceId": member, "LaunchTime": datetime.datetime(2026, 1, 1, 12, minute)} for member, _state, minute in members]}]},
            {"InstanceIds": [member for member, _state, _minute in members]})


@pytest.fixture(name="backoff")
def fixture_backoff(monkeypatch):
    """Records AWSRetry's waits (without waiting) and the upper bound each random wait was drawn under."""
    recorded = {"sleeps": [], "bounds": []}
    real_uniform = cloud.random.uniform

    def uniform(low, high):
        recorded["bounds"].append(high)
        return real_uniform(low, high)

    monkeypatch.setattr(cloud.time, "sleep", recorded["sleeps"].append)
    monkeypatch.setattr(cloud.random, "uniform", uniform)
    return recorded


@pytest.fixture(name="instance_data")
def fixture_instance_data(tmp_path):
    """instance_data(**v1) -> path of a cloud-init instance data file holding that v1."""
    def write(**v1):
        path = tmp_path / "instance-data.json"
        path.write_text(json.dumps({"v1": v1, "ds": {}}), encoding="utf-8")
        return str(path)
    return write


@pytest.fixture(name="run")
def fixture_run(monkeypatch, capsys, tmp_path):
    """run(args, clients) -> (rc, result): main() as Ansible runs it; EC2 clients handed out in order."""
    def run(args, clients=()):
        handed = list(clients)
        requested = []

        def client(module, service, retry_decorator=None, **params):
            requested.append((service, params.get("region")))
            return handed.pop(0)

        monkeypatch.setattr(AnsibleAWSModule, "client", client)
        # main() runs as in a module's own process: warnings go into the result (once other tests have loaded
        # controller code, they would go to the controller's display), and none are left from another run.
        monkeypatch.setattr(module_internal, "is_controller", False)
        module_warnings._global_warnings.clear()
        args = dict({"imds_url": "http://127.0.0.1:9", "instance_data_path": str(tmp_path / "absent.json")}, **args)
        with patch_module_args(args), pytest.raises(SystemExit) as exited:
            stack_eip_attach.main()
        result = json.loads(capsys.readouterr().out)
        result["_clients"] = requested
        assert handed == [], "clients left unused: the module connected fewer times than expected"
        return exited.value.code, result
    return run


def warnings(result):
    """The warnings' texts (ansible-core 2.19 wraps each in a summary)."""
    return [w["event"]["msg"] if isinstance(w, dict) else w for w in result.get("warnings", [])]


def waits_within_bounds(backoff):
    """Each wait is random and at most its bound. AWSRetry draws one wait ahead, before each attempt."""
    return all(0 <= s <= b for s, b in zip(backoff["sleeps"], backoff["bounds"]))


def given(**args):
    """Module arguments that name the instance and region, so no identity source is read."""
    return dict({"stack": "blog", "instance_id": INSTANCE, "region": "eu-west-1"}, **args)


# --- Association ---------------------------------------------------------------------------


def test_takes_the_address_over_from_the_previous_instance(ec2, autoscaling, run, backoff):
    client, stubber = ec2
    stubber.add_response("describe_addresses", {"Addresses": [address(InstanceId=PREVIOUS, AssociationId="eipassoc-old")]},
                         {"Filters": BY_TAG})
    # This instance, waiting on the launch hook, is the group's newest; the previous one still serves.
    group_of(stubber, autoscaling[1], [(PREVIOUS, "InService", 0), (INSTANCE, "Pending:Wait", 5)])
    stubber.add_response("associate_address", {"AssociationId": "eipassoc-new"}, associate_params())
    rc, result = run(given(), [client, autoscaling[0]])
    assert rc == 0, result
    assert result["changed"] is True
    assert (result["public_ip"], result["allocation_id"], result["association_id"]) == ("198.51.100.7", "eipalloc-1", "eipassoc-new")
    assert (result["instance_id"], result["previous_instance_id"], result["region"]) == (INSTANCE, PREVIOUS, "eu-west-1")
    assert result["_clients"] == [("ec2", "eu-west-1"), ("autoscaling", "eu-west-1")]
    assert result["reason"] == "this instance is the newest healthy one of its group"
    assert [a["error"] for a in result["attempts"]] == [""]
    assert warnings(result) == [] and backoff["sleeps"] == []


@pytest.mark.parametrize("members, reason", [
    # An old instance's pull timer, while the new one waits on the launch hook or serves.
    ([(INSTANCE, "InService", 0), (PREVIOUS, "Pending:Wait", 5)], "%s is the newest healthy instance of the group" % PREVIOUS),
    ([(INSTANCE, "InService", 0), (PREVIOUS, "InService", 5)], "%s is the newest healthy instance of the group" % PREVIOUS),
    # Detached on an interruption notice: no longer in the group, whose replacement is still launching.
    ([(PREVIOUS, "Pending", 5)], "this instance is not a healthy instance of its group"),
    ([], "this instance is not a healthy instance of its group"),
])
def test_an_older_or_detached_instance_leaves_the_address_where_it_is(ec2, autoscaling, run, members, reason):
    client, stubber = ec2
    stubber.add_response("describe_addresses", {"Addresses": [address(InstanceId=PREVIOUS, AssociationId="eipassoc-old")]},
                         {"Filters": BY_TAG})
    group_of(stubber, autoscaling[1], members)
    rc, result = run(given(), [client, autoscaling[0]])
    assert rc == 0, result
    assert result["changed"] is False
    assert result["reason"].startswith(reason)


def test_an_unassociated_address_is_associated(ec2, run):
    client, stubber = ec2
    stubber.add_response("describe_addresses", {"Addresses": [address()]}, {"Filters": BY_TAG})
    stubber.add_response("associate_address", {"AssociationId": "eipassoc-new"}, associate_params())
    rc, result = run(given(), [client])
    assert (rc, result["changed"], result["previous_instance_id"]) == (0, True, "")


def test_an_address_already_on_this_instance_is_left_alone(ec2, run):
    client, stubber = ec2
    # No associate_address is announced: the stubber fails the test if the module calls it.
    stubber.add_response("describe_addresses", {"Addresses": [address(InstanceId=INSTANCE, AssociationId="eipassoc-1")]},
                         {"Filters": BY_TAG})
    rc, result = run(given(), [client])
    assert rc == 0, result
    assert result["changed"] is False
    assert result["association_id"] == "eipassoc-1"


def test_check_mode_reports_the_move_and_makes_none(ec2, autoscaling, run):
    client, stubber = ec2
    stubber.add_response("describe_addresses", {"Addresses": [address(InstanceId=PREVIOUS, AssociationId="eipassoc-old")]},
                         {"Filters": BY_TAG})
    group_of(stubber, autoscaling[1], [(INSTANCE, "InService", 5)])
    rc, result = run(given(_ansible_check_mode=True), [client, autoscaling[0]])
    assert rc == 0, result
    assert result["changed"] is True
    assert result["association_id"] == ""
    assert result["previous_instance_id"] == PREVIOUS


def test_check_mode_with_the_address_in_place_reports_no_change(ec2, run):
    client, stubber = ec2
    stubber.add_response("describe_addresses", {"Addresses": [address(InstanceId=INSTANCE, AssociationId="eipassoc-1")]},
                         {"Filters": BY_TAG})
    rc, result = run(given(_ansible_check_mode=True), [client])
    assert (rc, result["changed"]) == (0, False)


@pytest.mark.parametrize("found, expected", [
    ([], "found 0"),
    ([address(), address(AllocationId="eipalloc-2", PublicIp="198.51.100.8")], "found 2: 198.51.100.7, 198.51.100.8"),
])
def test_no_address_or_several_fail_with_the_count_and_the_addresses(ec2, run, backoff, found, expected):
    client, stubber = ec2
    stubber.add_response("describe_addresses", {"Addresses": found}, {"Filters": BY_TAG})
    rc, result = run(given(), [client])
    assert rc == 1
    assert "Expected one Elastic IP tagged spotkit:stack=blog in eu-west-1; " + expected in result["msg"]
    assert len(result["attempts"]) == 1 and backoff["sleeps"] == []


# --- Retries -------------------------------------------------------------------------------


def test_retries_through_credential_errors_then_succeeds_and_says_so(ec2, run, backoff):
    client, stubber = ec2
    stubber.add_client_error("describe_addresses", "UnauthorizedOperation", "You are not authorized", 403,
                             expected_params={"Filters": BY_TAG})
    stubber.add_response("describe_addresses", {"Addresses": [address()]}, {"Filters": BY_TAG})
    stubber.add_client_error("associate_address", "AuthFailure", "AWS was not able to validate the credentials", 401,
                             expected_params=associate_params())
    stubber.add_response("describe_addresses", {"Addresses": [address()]}, {"Filters": BY_TAG})
    stubber.add_response("associate_address", {"AssociationId": "eipassoc-new"}, associate_params())
    rc, result = run(given(retry_delay=3), [client])
    assert rc == 0, result
    assert result["changed"] is True
    assert [(a["attempt"], a["error"], a["operation"]) for a in result["attempts"]] == [
        (1, "UnauthorizedOperation", "DescribeAddresses"), (2, "AuthFailure", "AssociateAddress"), (3, "", ""),
    ]
    # Jittered: a random wait under the doubling bound.
    assert backoff["bounds"][:2] == [3, 6]
    assert len(backoff["sleeps"]) == 2 and waits_within_bounds(backoff)
    assert len(warnings(result)) == 2
    first, second = warnings(result)
    assert first.startswith("Elastic IP of stack blog: attempt 1 of 7 failed with UnauthorizedOperation in DescribeAddresses")
    assert first.endswith("(You are not authorized)")
    assert second.startswith("Elastic IP of stack blog: attempt 2 of 7 failed with AuthFailure in AssociateAddress")
    assert "next attempt after %.1f s" % result["attempts"][2]["waited"] in second
    # Warned through ansible-core, not handed to exit_json (which 2.19 reports as deprecated).
    assert not result.get("deprecations"), result.get("deprecations")


def test_instance_not_found_yet_is_retried(ec2, run, backoff):
    client, stubber = ec2
    stubber.add_response("describe_addresses", {"Addresses": [address()]}, {"Filters": BY_TAG})
    stubber.add_client_error("associate_address", "InvalidInstanceID.NotFound", "The instance ID does not exist", 400,
                             expected_params=associate_params())
    stubber.add_response("describe_addresses", {"Addresses": [address()]}, {"Filters": BY_TAG})
    stubber.add_response("associate_address", {"AssociationId": "eipassoc-new"}, associate_params())
    rc, result = run(given(), [client])
    assert (rc, len(result["attempts"]), len(backoff["sleeps"])) == (0, 2, 1)


def test_a_non_retryable_error_fails_at_once_with_its_code(ec2, run, backoff):
    client, stubber = ec2
    stubber.add_response("describe_addresses", {"Addresses": [address()]}, {"Filters": BY_TAG})
    stubber.add_client_error("associate_address", "InvalidParameterValue", "Bad parameter", 400,
                             expected_params=associate_params())
    rc, result = run(given(), [client])
    assert rc == 1
    assert "InvalidParameterValue" in result["msg"]
    assert result["msg"].startswith("Attaching the Elastic IP of stack blog to %s in eu-west-1: " % INSTANCE)
    assert result["error"]["code"] == "InvalidParameterValue"
    assert len(result["attempts"]) == 1 and backoff["sleeps"] == []


def test_the_retried_codes_are_an_option(ec2, run, backoff):
    client, stubber = ec2
    stubber.add_client_error("describe_addresses", "AuthFailure", "not yet", 401, expected_params={"Filters": BY_TAG})
    rc, result = run(given(retry_error_codes=["InvalidInstanceID.NotFound"]), [client])
    assert rc == 1 and "AuthFailure" in result["msg"] and backoff["sleeps"] == []


def test_gives_up_after_the_retries_with_capped_waits(ec2, run, backoff):
    client, stubber = ec2
    for unused in range(5):
        stubber.add_client_error("describe_addresses", "AuthFailure", "not yet", 401, expected_params={"Filters": BY_TAG})
    rc, result = run(given(retries=4, retry_delay=5, retry_max_delay=12), [client])
    assert rc == 1
    assert result["msg"].startswith("Giving up after 5 attempts to attach the Elastic IP of stack blog")
    assert "AuthFailure" in result["msg"]
    assert backoff["bounds"][:4] == [5, 10, 12, 12]
    assert len(backoff["sleeps"]) == 4 and waits_within_bounds(backoff)
    assert [a["error"] for a in result["attempts"]] == ["AuthFailure"] * 5
    assert len(warnings(result)) == 4


def test_no_retries_means_one_attempt(ec2, run, backoff):
    client, stubber = ec2
    stubber.add_client_error("describe_addresses", "AuthFailure", "not yet", 401, expected_params={"Filters": BY_TAG})
    rc, result = run(given(retries=0), [client])
    assert rc == 1 and result["msg"].startswith("Giving up after 1 attempt to attach") and backoff["sleeps"] == []


def test_missing_credentials_are_retried_with_a_new_client(ec2, run, backoff):
    client, stubber = ec2
    # A real client created while there are no credentials: it raises NoCredentialsError and never recovers, so
    # the module must make a new one (the instance profile's credentials may have arrived meanwhile).
    without_credentials = boto3.client("ec2", region_name="eu-west-1")
    stubber.add_response("describe_addresses", {"Addresses": [address()]}, {"Filters": BY_TAG})
    stubber.add_response("associate_address", {"AssociationId": "eipassoc-new"}, associate_params())
    rc, result = run(given(), [without_credentials, client])
    assert rc == 0, result
    assert [a["error"] for a in result["attempts"]] == ["NoCredentialsError", ""]
    assert result["_clients"] == [("ec2", "eu-west-1"), ("ec2", "eu-west-1")]
    assert len(backoff["sleeps"]) == 1
    assert "NoCredentialsError" in warnings(result)[0]


def test_missing_credentials_until_the_end_fail_naming_them(run, backoff):
    clients = [boto3.client("ec2", region_name="eu-west-1") for unused in range(3)]
    rc, result = run(given(retries=2), clients)
    assert rc == 1
    assert result["msg"].startswith("Giving up after 3 attempts") and "Unable to locate credentials" in result["msg"]


# --- Options checked before any request ----------------------------------------------------


@pytest.mark.parametrize("args, expected", [
    ({"stack": "Not a stack"}, "stack must be"),
    ({"stack": "x" * 33}, "stack must be"),
    ({"imds_url": "https://169.254.169.254/latest"}, "imds_url must be"),
    ({"retries": -1}, "retries must be 0 or more"),
    ({"retry_delay": 0}, "retry_delay 1 or more"),
    ({"retry_delay": 10, "retry_max_delay": 5}, "retry_max_delay at least retry_delay"),
])
def test_bad_options_fail_before_any_request(run, args, expected):
    rc, result = run(given(**args))
    assert rc == 1
    assert expected in result["msg"]
    bad_value = str(next(iter(args.values())))
    assert bad_value in result["msg"]
    assert result["_clients"] == []


# --- Identity -------------------------------------------------------------------------------


class IMDS:
    """A local IMDSv2 stand-in: a token for PUT /latest/api/token, the identity document only with that token."""

    TOKEN = "secret-token-value"

    def __init__(self, document=None, token_status=200, accept_token=True):
        self.document = document if document is not None else {"instanceId": INSTANCE, "region": "ap-southeast-2"}
        self.token_status = token_status
        self.accept_token = accept_token
        self.requests = []
        imds = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def answer(self, status, body=b""):
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_PUT(self):
                imds.requests.append(("PUT", self.path, self.headers))
                if self.path == "/latest/api/token" and imds.token_status == 200:
                    self.answer(200, imds.TOKEN.encode())
                else:
                    self.answer(imds.token_status or 404)

            def do_GET(self):
                imds.requests.append(("GET", self.path, self.headers))
                if not imds.accept_token or self.headers.get("X-aws-ec2-metadata-token") != imds.TOKEN:
                    self.answer(401)
                elif self.path == "/latest/dynamic/instance-identity/document":
                    self.answer(200, json.dumps(imds.document).encode())
                else:
                    self.answer(404)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def no_imds(*args, **kwargs):
    raise AssertionError("the metadata service was asked: %s %s" % (args, kwargs))


def test_identity_from_cloud_init_instance_data_asks_no_metadata_service(instance_data):
    path = instance_data(instance_id=INSTANCE, region="eu-west-1")
    assert stack_eip_attach.identity(None, None, path, "http://169.254.169.254", opener=no_imds) == {
        "instance_id": INSTANCE, "instance_id_source": path, "region": "eu-west-1", "region_source": path,
    }


def test_identity_from_imdsv2_token_first_then_one_document_read(monkeypatch, tmp_path):
    # A proxy that does not exist: the requests must bypass it, as the metadata service is link-local.
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    with IMDS() as imds:
        found = stack_eip_attach.identity(None, None, str(tmp_path / "absent.json"), imds.url + "/")
    source = "IMDSv2 at %s/" % imds.url
    assert found == {"instance_id": INSTANCE, "instance_id_source": source, "region": "ap-southeast-2", "region_source": source}
    assert [(method, path) for method, path, unused in imds.requests] == [
        ("PUT", "/latest/api/token"), ("GET", "/latest/dynamic/instance-identity/document"),
    ]
    assert imds.requests[0][2]["X-aws-ec2-metadata-token-ttl-seconds"] == "60"
    assert imds.requests[1][2]["X-aws-ec2-metadata-token"] == IMDS.TOKEN


def test_only_what_the_instance_data_lacks_comes_from_imdsv2(instance_data):
    path = instance_data(instance_id=INSTANCE)
    with IMDS(document={"instanceId": "i-00000000000000000", "region": "sa-east-1"}) as imds:
        found = stack_eip_attach.identity(None, None, path, imds.url)
    assert (found["instance_id"], found["instance_id_source"]) == (INSTANCE, path)
    assert (found["region"], found["region_source"]) == ("sa-east-1", "IMDSv2 at %s" % imds.url)


def test_no_token_means_no_other_request_and_a_clear_error(tmp_path):
    with IMDS(token_status=403) as imds, pytest.raises(stack_eip_attach.IdentityError) as failed:
        stack_eip_attach.identity(None, None, str(tmp_path / "absent.json"), imds.url, sleep=lambda seconds: None)
    assert "No IMDSv2 token from %s (PUT /latest/api/token): HTTP 403" % imds.url in str(failed.value)
    assert {method for method, unused, unused2 in imds.requests} == {"PUT"}
    assert len(imds.requests) == _instance.IMDS_TRIES


def test_a_refused_document_read_does_not_reveal_the_token(tmp_path):
    with IMDS(accept_token=False) as imds, pytest.raises(stack_eip_attach.IdentityError) as failed:
        stack_eip_attach.identity(None, None, str(tmp_path / "absent.json"), imds.url, sleep=lambda seconds: None)
    assert "No instance identity document from %s (GET /latest/dynamic/instance-identity/document): HTTP 401" % imds.url in str(failed.value)
    assert IMDS.TOKEN not in str(failed.value)
    assert all(headers.get("X-aws-ec2-metadata-token") == IMDS.TOKEN for method, unused, headers in imds.requests if method == "GET")


def test_the_region_option_overrides_the_instance_data(instance_data):
    path = instance_data(instance_id=INSTANCE, region="eu-west-1")
    found = stack_eip_attach.identity(None, "us-east-2", path, "http://169.254.169.254", opener=no_imds)
    assert (found["region"], found["region_source"]) == ("us-east-2", "region option")
    assert (found["instance_id"], found["instance_id_source"]) == (INSTANCE, path)


def test_given_instance_id_and_region_read_nothing(tmp_path):
    found = stack_eip_attach.identity(INSTANCE, "eu-west-1", str(tmp_path / "absent.json"), "http://x", opener=no_imds)
    assert (found["instance_id_source"], found["region_source"]) == ("instance_id option", "region option")


def test_an_id_that_is_no_instance_id_is_refused_naming_its_source(instance_data):
    path = instance_data(instance_id="iid-datasource-none", region="eu-west-1")
    with pytest.raises(stack_eip_attach.IdentityError, match="from %s is not an EC2 instance id: 'iid-datasource-none'" % path):
        stack_eip_attach.identity(None, None, path, "http://x", opener=no_imds)


def test_the_module_reports_where_its_identity_came_from(ec2, run, instance_data):
    client, stubber = ec2
    path = instance_data(instance_id=INSTANCE, region="eu-west-1")
    stubber.add_response("describe_addresses", {"Addresses": [address(InstanceId=INSTANCE)]}, {"Filters": BY_TAG})
    rc, result = run({"stack": "blog", "instance_data_path": path}, [client])
    assert rc == 0, result
    assert (result["instance_id_source"], result["region_source"]) == (path, path)
    assert result["_clients"] == [("ec2", "eu-west-1")]


def test_the_module_fails_clearly_without_an_identity(run, monkeypatch):
    monkeypatch.setattr(stack_eip_attach.time, "sleep", lambda seconds: None)
    rc, result = run({"stack": "blog", "imds_url": "http://127.0.0.1:9"})
    assert rc == 1
    assert "No IMDSv2 token from http://127.0.0.1:9" in result["msg"]
    assert result["_clients"] == []
