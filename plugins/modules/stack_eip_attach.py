#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: spotkit.ec2 contributors
# Licensed under the MIT License (see LICENSE) or, at your option, the GNU General Public License v3.0+
# (see https://www.gnu.org/licenses/gpl-3.0.txt), like the amazon.aws module_utils it builds on.

from __future__ import annotations

DOCUMENTATION = r"""
module: stack_eip_attach
short_description: Attach a stack's Elastic IP to the EC2 instance the module runs on
version_added: 0.1.0
author: spotkit.ec2 maintainers (@spotkit)
description:
  - Finds the one Elastic IP tagged C(spotkit:stack=<stack>) and associates it with this instance, taking it over
    from another instance when needed (after a spot interruption AWS may still show it on the old instance).
    When the address is already on this instance nothing changes and no association is made.
  - No address, or more than one, is a failure that names the count and the addresses.
  - "The instance id and the region, unless given, come from cloud-init's instance data (C(v1.instance_id),
    C(v1.region) in O(instance_data_path)); only what that file lacks is asked from the instance metadata service,
    and only with IMDSv2: a session token from C(PUT /latest/api/token), then one C(GET) of
    C(/latest/dynamic/instance-identity/document) that carries it. There is never a request without a token
    (IMDSv1); the token is not logged; proxies are bypassed."
  - "Right after launch an instance can fail for a while through no fault of its own: its instance profile's
    credentials are missing or not accepted yet (C(AuthFailure), C(UnauthorizedOperation), botocore's
    C(NoCredentialsError), C(PartialCredentialsError), C(CredentialRetrievalError)), or EC2 does not know the new
    instance yet (C(InvalidInstanceID.NotFound)). A whole attempt (find, then associate) that fails so is made again,
    up to O(retries) times, after a random wait between 0 and O(retry_delay) * 2^(n-1) seconds before retry n, never
    more than O(retry_max_delay) (amazon.aws's C(AWSRetry.jittered_backoff)). AWS's throttling and
    service-unavailable errors are retried the same way. Any other failure fails at once, with the AWS error code."
  - Every retry is reported as a warning (which attempt failed, with which error, and how long the module waited),
    and every attempt is listed in RV(attempts).
  - "The address moves once, to the newest instance: when it is on another instance, it is taken only if this
    instance is the newest healthy instance (C(InService) or waiting on its launch hook in C(Pending:Wait), by launch
    time) of the stack's Auto Scaling group C(spotkit-<stack>). An older instance, or one that is no longer in the group
    (detached on a spot interruption notice), leaves it where it is and reports no change, with the reason in
    RV(reason). An address that is not associated is taken by any instance."
  - Needs C(ec2:DescribeAddresses), C(ec2:AssociateAddress), and to take the address from another instance
    C(autoscaling:DescribeAutoScalingGroups) and C(ec2:DescribeInstances).
options:
  stack:
    description:
      - Name of the stack; the address is the one tagged C(spotkit:stack=<stack>).
      - Lowercase letters, digits and C(-), starting with a letter, at most 32 characters.
    type: str
    required: true
  instance_id:
    description:
      - The instance to attach the address to. Unset means this instance, as O(instance_data_path) or IMDSv2 say.
    type: str
  instance_data_path:
    description:
      - cloud-init's instance data. Its C(v1.instance_id) and C(v1.region) are used when present.
    type: path
    default: /run/cloud-init/instance-data.json
  imds_url:
    description:
      - Base URL of the instance metadata service, C(http://HOST[:PORT]), asked with an IMDSv2 token only for what
        O(instance_id), O(region) and O(instance_data_path) do not give.
    type: str
    default: http://169.254.169.254
  retries:
    description:
      - How many times a failed attempt is made again when its error is retryable; 0 means one attempt only.
    type: int
    default: 6
  retry_delay:
    description:
      - Seconds; the wait before retry n is random, between 0 and O(retry_delay) * 2^(n-1) (at most
        O(retry_max_delay)). At least 1.
    type: int
    default: 5
  retry_max_delay:
    description:
      - Longest wait between two attempts, in seconds. At least O(retry_delay).
    type: int
    default: 60
  retry_error_codes:
    description:
      - EC2 error codes that make an attempt retryable, in addition to AWS's throttling and service-unavailable
        codes and to botocore's missing-credentials errors (always retried).
    type: list
    elements: str
    default: [AuthFailure, UnauthorizedOperation, InvalidInstanceID.NotFound]
notes:
  - Supports check mode; the address is then found and compared, never associated.
  - O(region) unset (and neither C(AWS_REGION) nor C(AWS_DEFAULT_REGION) set) means the region of the instance data,
    else of IMDSv2.
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Take the blog stack's Elastic IP (on the instance, credentials from its instance profile)
  spotkit.ec2.stack_eip_attach:
    stack: blog
  register: address

- name: Attach it to a given instance, from anywhere, trying only once
  spotkit.ec2.stack_eip_attach:
    stack: blog
    instance_id: i-0123456789abcdef0
    region: eu-west-1
    retries: 0
"""

RETURN = r"""
public_ip:
  description: The stack's Elastic IP.
  returned: success
  type: str
  sample: 198.51.100.7
allocation_id:
  description: Allocation id of the address.
  returned: success
  type: str
  sample: eipalloc-0123456789abcdef0
association_id:
  description: The address's association with the instance; empty in check mode when the address would move.
  returned: success
  type: str
  sample: eipassoc-0123456789abcdef0
reason:
  description: Why the address was taken or left where it is.
  returned: success
  type: str
  sample: i-0fedcba9876543210 is the newest healthy instance of the group
previous_instance_id:
  description: The instance the address was on before; empty when it was on none. Equals RV(instance_id) when
    nothing changed.
  returned: success
  type: str
  sample: i-0fedcba9876543210
instance_id:
  description: The instance the address is attached to.
  returned: when known
  type: str
  sample: i-0123456789abcdef0
instance_id_source:
  description: Where the instance id came from, V(instance_id option), the instance data file's path, or
    V(IMDSv2 at <imds_url>).
  returned: when known
  type: str
  sample: /run/cloud-init/instance-data.json
region:
  description: The region of the address.
  returned: when known
  type: str
  sample: eu-west-1
region_source:
  description: Where the region came from, V(region option), the instance data file's path, or
    V(IMDSv2 at <imds_url>).
  returned: when known
  type: str
  sample: IMDSv2 at http://169.254.169.254
attempts:
  description: Every attempt, in order. One entry means it worked (or failed for good) the first time.
  returned: always
  type: list
  elements: dict
  contains:
    attempt:
      description: Number of the attempt, from 1.
      type: int
    waited:
      description: Seconds between the end of the previous attempt and the start of this one.
      type: float
    error:
      description: The AWS error code, or the botocore exception's name, that ended the attempt; empty when it
        worked.
      type: str
    operation:
      description: The EC2 operation that failed; empty when it worked.
      type: str
    message:
      description: The error's message; empty when it worked.
      type: str
  sample:
    - {attempt: 1, waited: 0.0, error: AuthFailure, operation: AssociateAddress,
       message: AWS was not able to validate the provided access credentials}
    - {attempt: 2, waited: 3.2, error: "", operation: "", message: ""}
"""

import time
from urllib.parse import urlsplit

try:
    import botocore
    from botocore.exceptions import ClientError, CredentialRetrievalError, NoCredentialsError, PartialCredentialsError

    CREDENTIAL_ERRORS = (NoCredentialsError, PartialCredentialsError, CredentialRetrievalError)
    RETRIED_EXCEPTIONS = (ClientError,) + CREDENTIAL_ERRORS
except ImportError:
    CREDENTIAL_ERRORS = RETRIED_EXCEPTIONS = ()  # AnsibleAWSModule reports the missing library

from ansible.module_utils.common.warnings import warn

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.spotkit.ec2.plugins.module_utils._handover import may_take, newest_holder
from ansible_collections.spotkit.ec2.plugins.module_utils._instance import IdentityError, identity
from ansible_collections.spotkit.ec2.plugins.module_utils._stack import TAG_KEY as TAG, check_name, resource_name

RETRY_ERROR_CODES = ("AuthFailure", "UnauthorizedOperation", "InvalidInstanceID.NotFound")


class AddressCountError(Exception):
    """The stack has no Elastic IP, or more than one."""


class StackAddressRetry(AWSRetry):
    """AWSRetry that also retries botocore's missing-credentials errors.

    They are not ClientErrors, so AWSRetry alone would raise them at once; here they go through the same
    backoff, under their exception's name, as an instance profile whose credentials are not there yet."""

    base_class = RETRIED_EXCEPTIONS

    @staticmethod
    def status_code_from_exception(error):
        return aws_error(error)[0]


def aws_error(exc):
    """(code, message) of a ClientError, else the exception's name and text (NoCredentialsError, ...)."""
    response = getattr(exc, "response", None)
    error = response.get("Error", {}) if isinstance(response, dict) else {}
    return error.get("Code") or type(exc).__name__, error.get("Message") or str(exc)


def retried_codes(retry_error_codes):
    """The codes that make an attempt retryable besides AWSRetry's own (throttling, unavailable)."""
    return list(retry_error_codes) + [cls.__name__ for cls in CREDENTIAL_ERRORS]


def check_params(params):
    """Problems with the options, each naming the option and the value; empty when they are fine."""
    problems = []
    try:
        check_name("stack", params["stack"])
    except ValueError as exc:
        problems.append(str(exc))
    url = urlsplit(params["imds_url"] or "")
    if url.scheme != "http" or not url.netloc or url.path not in ("", "/") or url.query or url.fragment:
        problems.append("imds_url must be the metadata service's base URL, http://HOST[:PORT]; got %r" % params["imds_url"])
    if params["retries"] < 0 or params["retry_delay"] < 1 or params["retry_max_delay"] < params["retry_delay"]:
        problems.append(
            "retries must be 0 or more, retry_delay 1 or more and retry_max_delay at least retry_delay; "
            "got retries=%s, retry_delay=%s, retry_max_delay=%s"
            % (params["retries"], params["retry_delay"], params["retry_max_delay"])
        )
    return problems


def find_address(ec2, stack, region):
    """The one Elastic IP tagged with the stack."""
    found = ec2.describe_addresses(Filters=[{"Name": "tag:%s" % TAG, "Values": [stack]}])["Addresses"]
    if len(found) != 1:
        raise AddressCountError(
            "Expected one Elastic IP tagged %s=%s in %s; found %d%s"
            % (TAG, stack, region, len(found), (": " + ", ".join(a.get("PublicIp", "?") for a in found)) if found else "")
        )
    return found[0]


class Attacher:
    """Attaches the stack's address to the instance, one whole attempt at a time, and records every attempt."""

    def __init__(self, connect, stack, instance_id, region, check_mode=False, clock=time.monotonic, connect_autoscaling=None):
        self.connect = connect
        # None: the address is taken from any holder (no group to ask).
        self.connect_autoscaling = connect_autoscaling
        self._autoscaling = None
        self.stack = stack
        self.instance_id = instance_id
        self.region = region
        self.check_mode = check_mode
        self.clock = clock
        self.attempts = []
        self._ec2 = None
        self._operation = ""
        self._ended = None

    def run(self, retry_decorator):
        """The result of the first attempt that works; the last error when none does."""
        return retry_decorator(self.attempt)()

    def attempt(self):
        started = self.clock()
        record = {"attempt": len(self.attempts) + 1, "waited": round(started - self._ended, 1) if self.attempts else 0.0,
                  "error": "", "operation": "", "message": ""}
        self.attempts.append(record)
        try:
            return self._attach()
        except (ClientError, botocore.exceptions.BotoCoreError) as exc:
            code, message = aws_error(exc)
            record.update(error=code, operation=getattr(exc, "operation_name", None) or self._operation, message=message)
            if isinstance(exc, CREDENTIAL_ERRORS):
                # A client keeps the credentials it was created with (none): only a new one finds them.
                self._ec2 = self._autoscaling = None
            raise
        finally:
            self._ended = self.clock()

    def _attach(self):
        if self._ec2 is None:
            self._ec2 = self.connect()
        self._operation = "DescribeAddresses"
        address = find_address(self._ec2, self.stack, self.region)
        previous = address.get("InstanceId", "")
        result = {
            "changed": previous != self.instance_id,
            "reason": "already on this instance" if previous == self.instance_id else "the address is not associated"
            if not previous else "taken over from %s" % previous,
            "public_ip": address.get("PublicIp", ""),
            "allocation_id": address.get("AllocationId", ""),
            "association_id": address.get("AssociationId", ""),
            "previous_instance_id": previous,
        }
        if not result["changed"]:
            return result
        if previous and self.connect_autoscaling is not None:
            # The address moves once, to the newest instance: an older one (a pull timer during a handover, an
            # instance detached on an interruption notice) leaves it where it is.
            allowed, result["reason"] = may_take(self.instance_id, previous, self._newest_of_group())
            if not allowed:
                result["changed"] = False
                return result
        result["association_id"] = ""
        if self.check_mode:
            return result
        self._operation = "AssociateAddress"
        # After a spot interruption the address may still show on the old instance: take it over.
        target = {"AllocationId": result["allocation_id"]} if result["allocation_id"] else {"PublicIp": result["public_ip"]}
        answer = self._ec2.associate_address(InstanceId=self.instance_id, AllowReassociation=True, **target)
        result["association_id"] = answer.get("AssociationId", "")
        return result

    def _newest_of_group(self):
        """The newest healthy instance of the stack's group (in service or waiting on its launch hook), or None."""
        if self._autoscaling is None:
            self._autoscaling = self.connect_autoscaling()
        self._operation = "DescribeAutoScalingGroups"
        groups = self._autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[resource_name(self.stack)])["AutoScalingGroups"]
        members = groups[0].get("Instances") or [] if groups else []
        if not members:
            return None
        self._operation = "DescribeInstances"
        found = self._ec2.describe_instances(InstanceIds=[item["InstanceId"] for item in members])["Reservations"]
        launched = {item["InstanceId"]: item["LaunchTime"] for reservation in found for item in reservation["Instances"]}
        return newest_holder(members, launched)

    def retry_warnings(self, allowed):
        """One line per attempt that failed and was made again."""
        return [
            "Elastic IP of stack %s: attempt %d of %d failed with %s in %s, next attempt after %.1f s (%s)"
            % (self.stack, failed["attempt"], allowed, failed["error"], failed["operation"] or "-",
               following["waited"], failed["message"])
            for failed, following in zip(self.attempts, self.attempts[1:])
        ]


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            stack=dict(type="str", required=True),
            instance_id=dict(type="str"),
            instance_data_path=dict(type="path", default="/run/cloud-init/instance-data.json"),
            imds_url=dict(type="str", default="http://169.254.169.254"),
            retries=dict(type="int", default=6),
            retry_delay=dict(type="int", default=5),
            retry_max_delay=dict(type="int", default=60),
            retry_error_codes=dict(type="list", elements="str", default=list(RETRY_ERROR_CODES)),
        ),
        supports_check_mode=True,
    )
    params = module.params
    problems = check_params(params)
    if problems:
        module.fail_json(msg="; ".join(problems), attempts=[])
    try:
        who = identity(params["instance_id"], params["region"], params["instance_data_path"], params["imds_url"])
    except IdentityError as exc:
        module.fail_json(msg=str(exc), attempts=[])

    attacher = Attacher(lambda: module.client("ec2", region=who["region"]), params["stack"], who["instance_id"],
                        who["region"], check_mode=module.check_mode,
                        connect_autoscaling=lambda: module.client("autoscaling", region=who["region"]))
    codes = retried_codes(params["retry_error_codes"])
    retry = StackAddressRetry.jittered_backoff(
        retries=params["retries"] + 1, delay=params["retry_delay"], max_delay=params["retry_max_delay"],
        catch_extra_error_codes=codes,
    )
    what = "the Elastic IP of stack %s to %s in %s" % (params["stack"], who["instance_id"], who["region"])

    def report_retries():
        # Straight to ansible-core: AnsibleAWSModule.warn would also hand them to exit_json as `warnings`,
        # which ansible-core 2.19 reports as deprecated.
        for line in attacher.retry_warnings(params["retries"] + 1):
            warn(line)

    try:
        result = attacher.run(retry)
    except AddressCountError as exc:
        report_retries()
        module.fail_json(msg=str(exc), attempts=attacher.attempts, **who)
    except (ClientError, botocore.exceptions.BotoCoreError) as exc:
        report_retries()
        if StackAddressRetry.found(aws_error(exc)[0], codes) and isinstance(exc, RETRIED_EXCEPTIONS):
            count = len(attacher.attempts)
            context = "Giving up after %d %s to attach %s" % (count, "attempt" if count == 1 else "attempts", what)
        else:
            context = "Attaching %s" % what
        module.fail_json_aws(exc, msg=context, attempts=attacher.attempts, **who)
    report_retries()
    result.update(who, attempts=attacher.attempts)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
