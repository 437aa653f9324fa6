"""Two fixes to moto 5.2's IAM enforcement, which only runs when asked for (moto-api/reset-auth, or
INITIAL_NO_AUTH_ACTION_COUNT): the tests of the controller's policy enforce it.

- moto signs again what it received, to compare. A request without a body (GET, DELETE) was signed over an
  empty payload, but moto signs whatever it parsed instead, for Route 53 its headers: every Route 53 read and
  deletion failed with SignatureDoesNotMatch, which botocore shows as an empty error. A request that has no
  body is signed again over an empty one.
- moto names a call's action after the service's signing name, which for CloudWatch is "monitoring": a policy
  had to allow monitoring:DescribeAlarms where AWS checks cloudwatch:DescribeAlarms. The action gets its IAM
  prefix.
- moto names some S3 calls after another action: HeadBucket (s3:ListBucket on AWS), the bucket's encryption
  (s3:GetEncryptionConfiguration, s3:PutEncryptionConfiguration), ownership controls (s3:GetBucketOwnershipControls,
  s3:PutBucketOwnershipControls) and public access block (s3:GetBucketPublicAccessBlock,
  s3:PutBucketPublicAccessBlock) were checked as s3:ListBucket or s3:CreateBucket. They get AWS's names
  (S3_ACTIONS), which the tests' request recorder uses too (s3_action()).
"""

from __future__ import annotations

from moto.iam import access_control
from moto.s3 import responses as s3_responses

BODILESS = ("GET", "HEAD", "DELETE")
# Signing names that are not the service's prefix in IAM actions.
IAM_PREFIXES = {"monitoring": "cloudwatch"}

# moto's S3 action table, by resource and method: the query parameter that names the call, and its IAM action.
S3_ACTIONS = {
    ("BUCKET", "HEAD"): {"DEFAULT": "ListBucket"},
    ("BUCKET", "GET"): {"encryption": "GetEncryptionConfiguration", "ownershipControls": "GetBucketOwnershipControls",
                        "publicAccessBlock": "GetBucketPublicAccessBlock"},
    ("BUCKET", "PUT"): {"encryption": "PutEncryptionConfiguration", "ownershipControls": "PutBucketOwnershipControls",
                        "publicAccessBlock": "PutBucketPublicAccessBlock"},
    ("BUCKET", "DELETE"): {"encryption": "PutEncryptionConfiguration", "ownershipControls": "PutBucketOwnershipControls",
                           "publicAccessBlock": "PutBucketPublicAccessBlock"},
}

REQUEST = access_control.IAMRequestBase
ORIGINAL_INIT = REQUEST.__init__
ORIGINAL_CREATE_AWS_REQUEST = REQUEST._create_aws_request  # pylint: disable=protected-access


def _init(self, *args, **kwargs):
    ORIGINAL_INIT(self, *args, **kwargs)
    service, separator, action = self._action.partition(":")  # pylint: disable=protected-access
    self._action = IAM_PREFIXES.get(service, service) + separator + action  # pylint: disable=protected-access


def _create_aws_request(self):
    request = ORIGINAL_CREATE_AWS_REQUEST(self)
    if self._method in BODILESS and not self._body:  # pylint: disable=protected-access
        request.data = b""
    return request


def s3_action(method, path, query):
    """The IAM action of a path-style S3 request as the emulator checks it (query: the names of its query parameters)."""
    bucket, key = path.lstrip("/").partition("/")[::2]
    if not bucket:
        return "ListAllMyBuckets"
    if method == "POST" and not key and "delete" in query:
        return "DeleteObject"
    resource = "KEY" if key else "BUCKET"
    table = dict(s3_responses.ACTION_MAP[resource].get(method, {}), **S3_ACTIONS.get((resource, method), {}))
    named = [action for parameter, action in table.items() if parameter in query]
    return named[-1] if named else table.get("DEFAULT", "")


def install():
    for (resource, method), actions in S3_ACTIONS.items():
        s3_responses.ACTION_MAP[resource][method].update(actions)
    REQUEST.__init__ = _init
    REQUEST._create_aws_request = _create_aws_request  # pylint: disable=protected-access
