#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: spotkit.ec2 contributors
# Licensed under the MIT License (see LICENSE) or, at your option, the GNU General Public License v3.0+
# (see https://www.gnu.org/licenses/gpl-3.0.txt), like the amazon.aws module_utils it builds on.

from __future__ import annotations

DOCUMENTATION = r"""
module: iam_oidc_provider
short_description: Create or remove an IAM OpenID Connect identity provider
version_added: 0.1.0
author: spotkit.ec2 maintainers (@spotkit)
description:
  - An IAM OpenID Connect identity provider, found by its URL (one per URL and account), such as GitHub Actions'
    C(https://token.actions.githubusercontent.com). Its audiences (client ids) and thumbprints are made those given;
    nothing changes when they already are.
  - amazon.aws and community.aws have no module for it.
  - Needs C(iam:ListOpenIDConnectProviders), C(iam:GetOpenIDConnectProvider), C(iam:CreateOpenIDConnectProvider),
    C(iam:AddClientIDToOpenIDConnectProvider), C(iam:RemoveClientIDFromOpenIDConnectProvider),
    C(iam:UpdateOpenIDConnectProviderThumbprint) and C(iam:DeleteOpenIDConnectProvider).
options:
  url:
    description:
      - The provider's URL, C(https://HOST[/PATH]).
    type: str
    required: true
  client_ids:
    description:
      - The audiences that tokens must be issued for.
    type: list
    elements: str
    default: []
  thumbprints:
    description:
      - SHA-1 thumbprints of the provider's certificates, 40 hexadecimal digits each. AWS checks the certificates of
        some providers (GitHub's among them) against its own trusted authorities instead.
    type: list
    elements: str
    default: []
  state:
    description:
      - C(absent) removes the provider, and every role that trusts it can no longer be assumed through it.
    type: str
    choices: [present, absent]
    default: present
notes:
  - Supports check mode.
  - IAM is global; O(region) only picks the endpoint botocore signs for, in the partition of that region.
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Let GitHub Actions' tokens in
  spotkit.ec2.iam_oidc_provider:
    url: https://token.actions.githubusercontent.com
    client_ids: [sts.amazonaws.com]
  register: github

- name: Remove the provider
  spotkit.ec2.iam_oidc_provider:
    url: https://token.actions.githubusercontent.com
    state: absent
"""

RETURN = r"""
arn:
  description: The provider's ARN; empty when there is none (state absent, or check mode before its creation).
  returned: always
  type: str
  sample: arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com
client_ids:
  description: The provider's audiences, sorted.
  returned: when state is present
  type: list
  elements: str
  sample: [sts.amazonaws.com]
"""

import re

try:
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError:
    pass  # AnsibleAWSModule reports the missing library

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

URL_PATTERN = re.compile(r"^https://[A-Za-z0-9.-]+(?::[0-9]+)?(?:/[^\s]*)?$")
THUMBPRINT_PATTERN = re.compile(r"^[0-9A-Fa-f]{40}$")


def check_params(params):
    """Problems with the options, each naming the option and the value; empty when they are fine."""
    problems = []
    if not URL_PATTERN.match(params["url"]):
        problems.append("url must be https://HOST[/PATH]; got %r" % params["url"])
    bad = [value for value in params["thumbprints"] if not THUMBPRINT_PATTERN.match(value)]
    if bad:
        problems.append("thumbprints must be 40 hexadecimal digits each; got %r" % bad)
    return problems


def provider_key(url):
    """How IAM names a provider in its ARN: the URL without its scheme, nor a trailing slash."""
    return url.split("://", 1)[-1].rstrip("/")


def find(iam, url):
    """(arn, {client_ids, thumbprints}) of the account's provider for url, or ("", None)."""
    key = provider_key(url)
    for item in iam.list_open_id_connect_providers(aws_retry=True)["OpenIDConnectProviderList"]:
        if item["Arn"].endswith(":oidc-provider/" + key):
            found = iam.get_open_id_connect_provider(aws_retry=True, OpenIDConnectProviderArn=item["Arn"])
            return item["Arn"], {"client_ids": sorted(found.get("ClientIDList", [])),
                                 "thumbprints": sorted(value.lower() for value in found.get("ThumbprintList", []))}
    return "", None


def ensure_present(module, iam, arn, current):
    """Create the provider, or bring its audiences and thumbprints to the wanted ones; (changed, arn)."""
    params = module.params
    client_ids = sorted(set(params["client_ids"]))
    thumbprints = sorted(set(value.lower() for value in params["thumbprints"]))
    if current is None:
        if not module.check_mode:
            arn = iam.create_open_id_connect_provider(aws_retry=True, Url=params["url"], ClientIDList=client_ids,
                                                      ThumbprintList=thumbprints)["OpenIDConnectProviderArn"]
        return True, arn
    changed = False
    for client_id in sorted(set(client_ids) - set(current["client_ids"])):
        changed = True
        if not module.check_mode:
            iam.add_client_id_to_open_id_connect_provider(aws_retry=True, OpenIDConnectProviderArn=arn, ClientID=client_id)
    for client_id in sorted(set(current["client_ids"]) - set(client_ids)):
        changed = True
        if not module.check_mode:
            iam.remove_client_id_from_open_id_connect_provider(aws_retry=True, OpenIDConnectProviderArn=arn,
                                                               ClientID=client_id)
    if thumbprints and thumbprints != current["thumbprints"]:
        changed = True
        if not module.check_mode:
            iam.update_open_id_connect_provider_thumbprint(aws_retry=True, OpenIDConnectProviderArn=arn,
                                                           ThumbprintList=thumbprints)
    return changed, arn


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            url=dict(type="str", required=True),
            client_ids=dict(type="list", elements="str", default=[]),
            thumbprints=dict(type="list", elements="str", default=[]),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        supports_check_mode=True,
    )
    problems = check_params(module.params)
    if problems:
        module.fail_json(msg="; ".join(problems))
    iam = module.client("iam", retry_decorator=AWSRetry.jittered_backoff())
    try:
        arn, current = find(iam, module.params["url"])
        if module.params["state"] == "absent":
            if current is not None and not module.check_mode:
                iam.delete_open_id_connect_provider(aws_retry=True, OpenIDConnectProviderArn=arn)
            module.exit_json(changed=current is not None, arn="")
        changed, arn = ensure_present(module, iam, arn, current)
    except (BotoCoreError, ClientError) as exc:
        module.fail_json_aws(exc, msg="OpenID Connect provider %s" % module.params["url"])
    module.exit_json(changed=changed, arn=arn, client_ids=sorted(set(module.params["client_ids"])))


if __name__ == "__main__":
    main()
