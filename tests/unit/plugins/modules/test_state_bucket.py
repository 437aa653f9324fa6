"""Unit tests for the spotkit.ec2.state_bucket module: what it compares, and which calls it makes."""

from __future__ import annotations

import json

import pytest
from botocore.stub import ANY

from ansible_collections.spotkit.ec2.plugins.modules import state_bucket as module_under_test

NAME = "spotkit-blog-eu-west-1-123456789012"
OWNER = {"Bucket": NAME, "ExpectedBucketOwner": "123456789012"}
POLICY = {"Version": "2012-10-17", "Statement": [{"Sid": "DenyPlainHttp", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                                                  "Resource": ["arn:aws:s3:::%s" % NAME, "arn:aws:s3:::%s/*" % NAME],
                                                  "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}
PARAMS = {"policy": POLICY, "tags": {"spotkit:stack": "blog"}, "noncurrent_days": 30}


class FakeModule:
    def __init__(self, check_mode=False):
        self.check_mode = check_mode
        self.region = "eu-west-1"


@pytest.fixture
def s3(stub):
    return stub("s3")


def bucket_of(client):
    return module_under_test.Bucket(client, NAME, "123456789012")


def as_configured(stubber, policy=None, days=30, versioning="Enabled"):
    """The answers of a bucket configured as PARAMS says, as AWS gives them (a policy's one-item lists flattened)."""
    stubber.add_response("head_bucket", {}, OWNER)
    stubber.add_response("get_bucket_versioning", {"Status": versioning}, OWNER)
    stubber.add_response("get_bucket_encryption", {"ServerSideEncryptionConfiguration": {"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": False}]}}, OWNER)
    stubber.add_response("get_public_access_block", {"PublicAccessBlockConfiguration": module_under_test.PUBLIC_ACCESS_BLOCK}, OWNER)
    stubber.add_response("get_bucket_ownership_controls", {"OwnershipControls": module_under_test.OWNERSHIP}, OWNER)
    rule = module_under_test.lifecycle(days)["Rules"][0]
    stubber.add_response("get_bucket_lifecycle_configuration", {"Rules": [rule]}, OWNER)
    stubber.add_response("get_bucket_policy", {"Policy": json.dumps(policy or POLICY)}, OWNER)
    stubber.add_response("get_bucket_tagging", {"TagSet": [{"Key": "spotkit:stack", "Value": "blog"}]}, OWNER)


def test_a_bucket_as_wanted_is_only_read(s3):
    client, stubber = s3
    as_configured(stubber)
    assert module_under_test.ensure_present(FakeModule(), bucket_of(client), PARAMS) == []


def test_aws_s_own_spelling_of_the_same_policy_is_no_change(s3):
    client, stubber = s3
    # AWS may hand a one-item list back as its item, and lists in another order.
    statement = dict(POLICY["Statement"][0], Resource=list(reversed(POLICY["Statement"][0]["Resource"])), Action=["s3:*"])
    as_configured(stubber, policy={"Version": "2012-10-17", "Statement": statement})
    assert module_under_test.ensure_present(FakeModule(), bucket_of(client), PARAMS) == []


def test_what_differs_is_written_and_only_that(s3):
    client, stubber = s3
    as_configured(stubber, days=7, versioning="Suspended")
    stubber.add_response("put_bucket_versioning", {}, dict(OWNER, VersioningConfiguration={"Status": "Enabled"}))
    stubber.add_response("put_bucket_lifecycle_configuration", {}, dict(OWNER, LifecycleConfiguration=module_under_test.lifecycle(30)))
    assert module_under_test.ensure_present(FakeModule(), bucket_of(client), PARAMS) == ["versioning", "lifecycle"]


def test_check_mode_says_what_would_change_and_writes_nothing(s3):
    client, stubber = s3
    as_configured(stubber, days=7)
    assert module_under_test.ensure_present(FakeModule(check_mode=True), bucket_of(client), PARAMS) == ["lifecycle"]
    stubber.add_client_error("head_bucket", "404", http_status_code=404, expected_params=OWNER)
    assert module_under_test.ensure_present(FakeModule(check_mode=True), bucket_of(client), PARAMS) == [
        "bucket", "public_access_block", "ownership", "encryption", "versioning", "lifecycle", "policy", "tags"]


def test_a_new_bucket_is_created_in_the_region_with_acls_off_then_configured(s3):
    client, stubber = s3
    stubber.add_client_error("head_bucket", "404", http_status_code=404, expected_params=OWNER)
    stubber.add_response("create_bucket", {}, {"Bucket": NAME, "ObjectOwnership": "BucketOwnerEnforced",
                                               "CreateBucketConfiguration": {"LocationConstraint": "eu-west-1"}})
    for method in ("put_public_access_block", "put_bucket_ownership_controls", "put_bucket_encryption", "put_bucket_versioning",
                   "put_bucket_lifecycle_configuration", "put_bucket_policy", "put_bucket_tagging"):
        stubber.add_response(method, {}, dict(OWNER, **{key: ANY for key in {
            "put_public_access_block": ["PublicAccessBlockConfiguration"], "put_bucket_ownership_controls": ["OwnershipControls"],
            "put_bucket_encryption": ["ServerSideEncryptionConfiguration"], "put_bucket_versioning": ["VersioningConfiguration"],
            "put_bucket_lifecycle_configuration": ["LifecycleConfiguration"], "put_bucket_policy": ["Policy"],
            "put_bucket_tagging": ["Tagging"]}[method]}))
    changes = module_under_test.ensure_present(FakeModule(), bucket_of(client), PARAMS)
    assert changes[0] == "bucket" and len(changes) == 8


def test_a_denied_call_names_its_iam_action(s3):
    client, stubber = s3
    stubber.add_response("head_bucket", {}, OWNER)
    stubber.add_client_error("get_bucket_versioning", "AccessDenied", http_status_code=403, expected_params=OWNER)
    with pytest.raises(module_under_test.Failed) as failed:
        module_under_test.ensure_present(FakeModule(), bucket_of(client), PARAMS)
    assert failed.value.action == "s3:GetBucketVersioning"


def versions(stubber, keys):
    stubber.add_response("list_object_versions", {
        "Versions": [{"Key": key, "VersionId": version} for key, version in keys if version != "marker"],
        "DeleteMarkers": [{"Key": key, "VersionId": "m-" + key} for key, version in keys if version == "marker"]}, OWNER)


def test_teardown_deletes_the_policy_every_version_and_marker_then_the_bucket(s3):
    client, stubber = s3
    stubber.add_response("head_bucket", {}, OWNER)
    # First: it keeps every principal but the stack's instances out of the objects.
    stubber.add_response("delete_bucket_policy", {}, OWNER)
    versions(stubber, [("state/blog.tar.gz", "v1"), ("state/blog.tar.gz", "v2"), ("state/gone.tar.gz", "marker")])
    stubber.add_response("delete_objects", {}, dict(OWNER, Delete={"Objects": [
        {"Key": "state/blog.tar.gz", "VersionId": "v1"}, {"Key": "state/blog.tar.gz", "VersionId": "v2"},
        {"Key": "state/gone.tar.gz", "VersionId": "m-state/gone.tar.gz"}], "Quiet": True}))
    versions(stubber, [])
    stubber.add_response("delete_bucket", {}, OWNER)
    assert module_under_test.ensure_absent(FakeModule(), bucket_of(client)) == (["bucket"], 3)


def test_a_version_left_fails_the_teardown_naming_it(s3):
    client, stubber = s3
    stubber.add_response("head_bucket", {}, OWNER)
    stubber.add_response("delete_bucket_policy", {}, OWNER)
    versions(stubber, [("state/blog.tar.gz", "v1")])
    stubber.add_response("delete_objects", {"Errors": [{"Key": "state/blog.tar.gz", "Code": "AccessDenied", "Message": "no"}]},
                         dict(OWNER, Delete={"Objects": [{"Key": "state/blog.tar.gz", "VersionId": "v1"}], "Quiet": True}))
    with pytest.raises(module_under_test.Failed) as failed:
        module_under_test.ensure_absent(FakeModule(), bucket_of(client))
    assert failed.value.action == "s3:DeleteObjectVersion" and "state/blog.tar.gz: AccessDenied" in failed.value.error


def test_no_bucket_no_change(s3):
    client, stubber = s3
    stubber.add_client_error("head_bucket", "404", http_status_code=404, expected_params=OWNER)
    assert module_under_test.ensure_absent(FakeModule(), bucket_of(client)) == ([], 0)
