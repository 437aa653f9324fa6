"""Unit tests for the spotkit.ec2.iam_oidc_provider module: its input checks, and which calls it makes."""

from __future__ import annotations

import pytest

from ansible_collections.spotkit.ec2.plugins.modules import iam_oidc_provider as module_under_test

URL = "https://token.actions.githubusercontent.com"
ARN = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
THUMBPRINT = "6938fd4d98bab03faadb97b34396831e3780aea1"


class FakeModule:
    def __init__(self, check_mode=False, **params):
        self.check_mode = check_mode
        self.params = dict({"url": URL, "client_ids": ["sts.amazonaws.com"], "thumbprints": [THUMBPRINT],
                            "state": "present"}, **params)


@pytest.fixture(name="iam")
def fixture_iam(stub):
    return stub("iam")


def listed(stubber, client_ids=("sts.amazonaws.com",), thumbprints=(THUMBPRINT,)):
    stubber.add_response("list_open_id_connect_providers", {"OpenIDConnectProviderList": [
        {"Arn": "arn:aws:iam::123456789012:oidc-provider/accounts.example.com"}, {"Arn": ARN}]}, {})
    stubber.add_response("get_open_id_connect_provider", {"Url": URL, "ClientIDList": list(client_ids),
                                                          "ThumbprintList": list(thumbprints)},
                         {"OpenIDConnectProviderArn": ARN})


@pytest.mark.parametrize("params, problem", [
    ({"url": "http://token.actions.githubusercontent.com"}, "url must be https://HOST[/PATH]; got 'http://"),
    ({"thumbprints": ["abc"]}, "thumbprints must be 40 hexadecimal digits each; got ['abc']"),
])
def test_bad_options_are_named_with_their_value(params, problem):
    (found,) = module_under_test.check_params(FakeModule(**params).params)
    assert found.startswith(problem)


def test_the_provider_is_found_by_its_url(iam):
    client, stubber = iam
    listed(stubber)
    assert module_under_test.find(client, URL + "/") == (ARN, {"client_ids": ["sts.amazonaws.com"], "thumbprints": [THUMBPRINT]})


def test_no_provider_is_created(iam):
    client, stubber = iam
    stubber.add_response("list_open_id_connect_providers", {"OpenIDConnectProviderList": []}, {})
    arn, current = module_under_test.find(client, URL)
    stubber.add_response("create_open_id_connect_provider", {"OpenIDConnectProviderArn": ARN},
                         {"Url": URL, "ClientIDList": ["sts.amazonaws.com"], "ThumbprintList": [THUMBPRINT]})
    assert module_under_test.ensure_present(FakeModule(), client, arn, current) == (True, ARN)


def test_an_equal_provider_changes_nothing(iam):
    client, stubber = iam
    listed(stubber)
    arn, current = module_under_test.find(client, URL)
    assert module_under_test.ensure_present(FakeModule(), client, arn, current) == (False, ARN)


def test_audiences_and_thumbprints_are_made_the_given_ones(iam):
    client, stubber = iam
    listed(stubber, client_ids=["other"], thumbprints=["f" * 40])
    arn, current = module_under_test.find(client, URL)
    stubber.add_response("add_client_id_to_open_id_connect_provider", {},
                         {"OpenIDConnectProviderArn": ARN, "ClientID": "sts.amazonaws.com"})
    stubber.add_response("remove_client_id_from_open_id_connect_provider", {},
                         {"OpenIDConnectProviderArn": ARN, "ClientID": "other"})
    stubber.add_response("update_open_id_connect_provider_thumbprint", {},
                         {"OpenIDConnectProviderArn": ARN, "ThumbprintList": [THUMBPRINT]})
    assert module_under_test.ensure_present(FakeModule(), client, arn, current) == (True, ARN)


def test_check_mode_calls_nothing_that_changes(iam):
    client, stubber = iam
    listed(stubber, client_ids=["other"])
    arn, current = module_under_test.find(client, URL)
    assert module_under_test.ensure_present(FakeModule(check_mode=True), client, arn, current) == (True, ARN)
