#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: spotkit.ec2 contributors
# Licensed under the MIT License (see LICENSE) or, at your option, the GNU General Public License v3.0+
# (see https://www.gnu.org/licenses/gpl-3.0.txt), like the amazon.aws module_utils it builds on.

from __future__ import annotations

DOCUMENTATION = r"""
module: state_bucket
short_description: A stack's S3 state bucket, locked down, or emptied and removed
version_added: 0.3.0
author: spotkit.ec2 maintainers (@spotkit)
description:
  - With O(state=present), creates the bucket or brings it to this configuration, each part read first and written only
    when it differs; supports check mode. Default encryption SSE-S3 (AES256); versioning enabled; one lifecycle rule that
    expires a noncurrent version after O(noncurrent_days), removes expired delete markers and aborts an incomplete
    multipart upload after a day; the four public access blocks on; object ownership C(BucketOwnerEnforced) (no ACLs);
    the bucket policy O(policy); exactly the tags O(tags).
  - With O(state=absent), deletes the bucket's policy (which may keep the caller out of the objects), every object
    version and delete marker, then the bucket.
  - Unlike M(amazon.aws.s3_bucket), it sets the lifecycle too, supports check mode, and makes only the calls these
    parts need; a failed call names its IAM action.
options:
  name:
    description: Name of the bucket.
    type: str
    required: true
  state:
    description: Whether the bucket exists.
    type: str
    choices: [present, absent]
    default: present
  account:
    description: The account that must own the bucket (S3's C(ExpectedBucketOwner)); empty for no check.
    type: str
    default: ""
  policy:
    description: The bucket policy. Required with O(state=present).
    type: dict
  tags:
    description: The bucket's tags, exactly.
    type: dict
    default: {}
  noncurrent_days:
    description: Days a version is kept once a newer one replaced it.
    type: int
    default: 30
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Keep the blog stack's state bucket
  spotkit.ec2.state_bucket:
    name: spotkit-blog-eu-west-1-123456789012
    account: "123456789012"
    policy: "{{ lookup('ansible.builtin.template', 'state_bucket_policy.json.j2') | from_json }}"
    tags: {"spotkit:stack": blog}
    noncurrent_days: 30

- name: Empty and remove it
  spotkit.ec2.state_bucket:
    name: spotkit-blog-eu-west-1-123456789012
    state: absent
"""

RETURN = r"""
changes:
  description: What was (in check mode, would be) created or changed, in the order it is done, e.g. V(bucket), V(versioning).
  returned: always
  type: list
  elements: str
deleted_versions:
  description: With O(state=absent), how many object versions and delete markers were deleted.
  returned: always
  type: int
"""

import json

try:
    import botocore
    from botocore.config import Config
except ImportError:
    pass  # AnsibleAWSModule reports the missing library

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

ENCRYPTION = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}
PUBLIC_ACCESS_BLOCK = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}
OWNERSHIP = {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
LIFECYCLE_RULE_ID = "spotkit-state-versions"
# Errors that mean "none set" for a part of a bucket's configuration.
NOT_SET = ("ServerSideEncryptionConfigurationNotFoundError", "NoSuchPublicAccessBlockConfiguration",
           "OwnershipControlsNotFoundError", "NoSuchLifecycleConfiguration", "NoSuchBucketPolicy", "NoSuchTagSet")
DELETE_BATCH = 1000


class Failed(Exception):
    """A call failed: its IAM action, and the botocore error."""

    def __init__(self, action, error):
        super().__init__(action)
        self.action, self.error = action, error


class Bucket:
    """One bucket's calls, each named by its IAM action, with the expected owner on every call that takes one."""

    def __init__(self, s3, name, account):
        self.s3, self.name = s3, name
        self.owner = {"ExpectedBucketOwner": account} if account else {}

    def call(self, action, method, missing=None, owner=True, **params):
        """The answer of a call; `missing` where AWS says that the part is not set."""
        try:
            return getattr(self.s3, method)(aws_retry=True, Bucket=self.name, **(dict(params, **self.owner) if owner else params))
        except is_boto3_error_code(NOT_SET):
            return missing
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:  # pylint: disable=duplicate-except
            raise Failed(action, exc) from exc

    def exists(self):
        try:
            self.s3.head_bucket(aws_retry=True, Bucket=self.name, **self.owner)
            return True
        except is_boto3_error_code(["404", "NoSuchBucket", "NotFound"]):
            return False
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:  # pylint: disable=duplicate-except
            raise Failed("s3:ListBucket", exc) from exc


def lifecycle(days):
    return {"Rules": [{"ID": LIFECYCLE_RULE_ID, "Status": "Enabled", "Filter": {"Prefix": ""},
                       "NoncurrentVersionExpiration": {"NoncurrentDays": days},
                       "Expiration": {"ExpiredObjectDeleteMarker": True},
                       "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}}]}


def lifecycle_of(found):
    """What the lifecycle rules say, in lifecycle()'s terms (AWS may add empty fields or drop the empty prefix)."""
    return [(rule.get("ID"), rule.get("Status"), rule.get("Filter", {}).get("Prefix", rule.get("Prefix", "")),
             rule.get("NoncurrentVersionExpiration", {}).get("NoncurrentDays"),
             rule.get("Expiration", {}).get("ExpiredObjectDeleteMarker"),
             rule.get("AbortIncompleteMultipartUpload", {}).get("DaysAfterInitiation"))
            for rule in (found or {}).get("Rules", [])]


def policy_of(text):
    """A policy (JSON) as AWS compares it."""
    return comparable(json.loads(text))


def comparable(document):
    """A one-item list is that item, lists in any order, keys in any order."""
    if isinstance(document, dict):
        return {key: comparable(value) for key, value in document.items()}
    if isinstance(document, list):
        items = [comparable(item) for item in document]
        if len(items) == 1:
            return items[0]
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))
    return document


def parts(bucket, params, exists):
    """[(part, IAM action, method, request, whether it is as wanted)] in the order they are written."""
    found = {}
    if exists:
        found = {
            "versioning": bucket.call("s3:GetBucketVersioning", "get_bucket_versioning", {}).get("Status"),
            "encryption": [rule.get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm") for rule in bucket.call(
                "s3:GetEncryptionConfiguration", "get_bucket_encryption", {}).get("ServerSideEncryptionConfiguration", {}).get("Rules", [])],
            "public_access_block": bucket.call("s3:GetBucketPublicAccessBlock", "get_public_access_block", {}).get(
                "PublicAccessBlockConfiguration"),
            "ownership": bucket.call("s3:GetBucketOwnershipControls", "get_bucket_ownership_controls", {}).get(
                "OwnershipControls", {}).get("Rules"),
            "lifecycle": lifecycle_of(bucket.call("s3:GetLifecycleConfiguration", "get_bucket_lifecycle_configuration", {})),
            "policy": policy_of(bucket.call("s3:GetBucketPolicy", "get_bucket_policy", {}).get("Policy") or "null"),
            "tags": {tag["Key"]: tag["Value"] for tag in bucket.call("s3:GetBucketTagging", "get_bucket_tagging", {}).get("TagSet", [])},
        }
    want_lifecycle = lifecycle(params["noncurrent_days"])
    return [
        ("public_access_block", "s3:PutBucketPublicAccessBlock", "put_public_access_block",
         {"PublicAccessBlockConfiguration": PUBLIC_ACCESS_BLOCK}, found.get("public_access_block") == PUBLIC_ACCESS_BLOCK),
        ("ownership", "s3:PutBucketOwnershipControls", "put_bucket_ownership_controls", {"OwnershipControls": OWNERSHIP},
         found.get("ownership") == OWNERSHIP["Rules"]),
        ("encryption", "s3:PutEncryptionConfiguration", "put_bucket_encryption", {"ServerSideEncryptionConfiguration": ENCRYPTION},
         found.get("encryption") == ["AES256"]),
        ("versioning", "s3:PutBucketVersioning", "put_bucket_versioning", {"VersioningConfiguration": {"Status": "Enabled"}},
         found.get("versioning") == "Enabled"),
        ("lifecycle", "s3:PutLifecycleConfiguration", "put_bucket_lifecycle_configuration", {"LifecycleConfiguration": want_lifecycle},
         found.get("lifecycle") == lifecycle_of(want_lifecycle)),
        ("policy", "s3:PutBucketPolicy", "put_bucket_policy", {"Policy": json.dumps(params["policy"], sort_keys=True)},
         found.get("policy") == comparable(params["policy"])),
        ("tags", "s3:PutBucketTagging", "put_bucket_tagging",
         {"Tagging": {"TagSet": [{"Key": key, "Value": value} for key, value in sorted(params["tags"].items())]}},
         found.get("tags") == params["tags"]),
    ]


def ensure_present(module, bucket, params):
    exists = bucket.exists()
    changes = [] if exists else ["bucket"]
    if not exists and not module.check_mode:
        request = {"ObjectOwnership": "BucketOwnerEnforced"}
        # us-east-1 takes no location constraint; every other region needs its own.
        if module.region != "us-east-1":
            request["CreateBucketConfiguration"] = {"LocationConstraint": module.region}
        bucket.call("s3:CreateBucket", "create_bucket", owner=False, **request)
    for part, action, method, request, current in parts(bucket, params, exists):
        if current:
            continue
        changes.append(part)
        if not module.check_mode:
            bucket.call(action, method, **request)
    return changes


def delete_versions(bucket):
    """Delete every version and delete marker; how many."""
    deleted = 0
    while True:
        listed = bucket.call("s3:ListBucketVersions", "list_object_versions")
        batch = [{"Key": item["Key"], "VersionId": item["VersionId"]}
                 for item in listed.get("Versions", []) + listed.get("DeleteMarkers", [])][:DELETE_BATCH]
        if not batch:
            return deleted
        answer = bucket.call("s3:DeleteObjectVersion", "delete_objects", Delete={"Objects": batch, "Quiet": True})
        if answer.get("Errors"):
            error = answer["Errors"][0]
            raise Failed("s3:DeleteObjectVersion", "%d objects not deleted, e.g. %s: %s %s"
                         % (len(answer["Errors"]), error.get("Key"), error.get("Code"), error.get("Message")))
        deleted += len(batch)


def ensure_absent(module, bucket):
    if not bucket.exists():
        return [], 0
    if module.check_mode:
        return ["bucket"], 0
    # The policy lets the stack's instances alone at the objects; the caller may delete it, as IAM allows.
    bucket.call("s3:DeleteBucketPolicy", "delete_bucket_policy")
    deleted = delete_versions(bucket)
    bucket.call("s3:DeleteBucket", "delete_bucket")
    return ["bucket"], deleted


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            account=dict(type="str", default=""),
            policy=dict(type="dict"),
            tags=dict(type="dict", default={}),
            noncurrent_days=dict(type="int", default=30),
        ),
        required_if=[("state", "present", ["policy"])],
        supports_check_mode=True,
    )
    params = module.params
    # An endpoint override (the sandbox's emulator) is reached by path, not by a bucket's own host name.
    extra = {"config": Config(s3={"addressing_style": "path"})} if params.get("endpoint_url") else {}
    # A new bucket may not be found at once by the calls that configure it.
    s3 = module.client("s3", retry_decorator=AWSRetry.jittered_backoff(catch_extra_error_codes=["NoSuchBucket", "OperationAborted"]),
                       **extra)
    bucket = Bucket(s3, params["name"], params["account"])
    deleted = 0
    try:
        if params["state"] == "present":
            changes = ensure_present(module, bucket, params)
        else:
            changes, deleted = ensure_absent(module, bucket)
    except Failed as exc:
        message = "%s on S3 bucket %s failed" % (exc.action, params["name"])
        if isinstance(exc.error, Exception):
            module.fail_json_aws(exc.error, msg=message)
        module.fail_json(msg="%s: %s" % (message, exc.error))
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        module.fail_json_aws(exc, msg="S3 bucket %s" % params["name"])
    module.exit_json(changed=bool(changes), changes=changes, deleted_versions=deleted)


if __name__ == "__main__":
    main()
