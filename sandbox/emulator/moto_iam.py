"""Two fixes to moto 5.2's IAM enforcement, which only runs when asked for (moto-api/reset-auth, or
INITIAL_NO_AUTH_ACTION_COUNT): the tests of the controller's policy enforce it.

- moto signs again what it received, to compare. A request without a body (GET, DELETE) was signed over an
  empty payload, but moto signs whatever it parsed instead, for Route 53 its headers: every Route 53 read and
  deletion failed with SignatureDoesNotMatch, which botocore shows as an empty error. A request that has no
  body is signed again over an empty one.
- moto names a call's action after the service's signing name, which for CloudWatch is "monitoring": a policy
  had to allow monitoring:DescribeAlarms where AWS checks cloudwatch:DescribeAlarms. The action gets its IAM
  prefix.
"""

from __future__ import annotations

from moto.iam import access_control

BODILESS = ("GET", "HEAD", "DELETE")
# Signing names that are not the service's prefix in IAM actions.
IAM_PREFIXES = {"monitoring": "cloudwatch"}

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


def install():
    REQUEST.__init__ = _init
    REQUEST._create_aws_request = _create_aws_request  # pylint: disable=protected-access
