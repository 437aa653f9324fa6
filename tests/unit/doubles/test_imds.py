"""The IMDSv2 test double answers only requests that carry a live session token."""

from __future__ import annotations

import argparse
import http.client
import json

import pytest

import imds
from http_double import RequestLog, parse_address, serve

METADATA = imds.instance_metadata("i-0123456789abcdef0", "eu-west-1")


@pytest.fixture(name="service")
def fixture_service(tmp_path):
    log = tmp_path / "imds.jsonl"
    (server,) = serve([("127.0.0.1", 0)], imds.make_handler(METADATA, RequestLog(str(log))))
    yield server.server_address[:2], log
    server.shutdown()


def request(address, method, path, headers=None):
    connection = http.client.HTTPConnection(*address, timeout=5)
    try:
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def token(address, ttl="60"):
    status, body = request(address, "PUT", imds.TOKEN_PATH, {imds.TTL_HEADER: ttl})
    assert status == 200
    return body


def test_get_without_token_is_refused(service):
    address, log = service
    assert request(address, "GET", "/latest/meta-data/instance-id")[0] == 401
    assert json.loads(log.read_text())["token"] == "none"


def test_get_with_unknown_token_is_refused(service):
    address = service[0]
    assert request(address, "GET", "/latest/meta-data/instance-id", {imds.TOKEN_HEADER: "forged"})[0] == 401


def test_get_with_token_answers(service):
    address, log = service
    headers = {imds.TOKEN_HEADER: token(address)}
    assert request(address, "GET", "/latest/meta-data/instance-id", headers) == (200, "i-0123456789abcdef0")
    assert request(address, "GET", "/latest/meta-data/placement/region", headers) == (200, "eu-west-1")
    status, document = request(address, "GET", "/latest/dynamic/instance-identity/document", headers)
    assert status == 200
    assert (json.loads(document)["instanceId"], json.loads(document)["region"]) == ("i-0123456789abcdef0", "eu-west-1")
    assert request(address, "GET", "/latest/meta-data/no-such-thing", headers)[0] == 404
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(e["method"], e["token"], e["status"]) for e in entries] == [
        ("PUT", "none", 200), ("GET", "valid", 200), ("GET", "valid", 200), ("GET", "valid", 200), ("GET", "valid", 404),
    ]


@pytest.mark.parametrize("headers, status", [
    ({}, 400),
    ({imds.TTL_HEADER: "0"}, 400),
    ({imds.TTL_HEADER: "21601"}, 400),
    ({imds.TTL_HEADER: "60", "X-Forwarded-For": "10.0.0.1"}, 403),
])
def test_token_request_rules(service, headers, status):
    address = service[0]
    assert request(address, "PUT", imds.TOKEN_PATH, headers)[0] == status


def test_tokens_expire(monkeypatch):
    tokens = imds.Tokens()
    now = [1000.0]
    monkeypatch.setattr(imds.time, "monotonic", lambda: now[0])
    issued = tokens.issue(60)
    assert tokens.check(issued) == "valid"
    now[0] += 61
    assert tokens.check(issued) == "invalid"
    assert tokens.check("") == "none"


@pytest.mark.parametrize("text", ["0.0.0.0:80", "localhost", ":80", "host:port"])
def test_parse_address_rejects(text):
    with pytest.raises(argparse.ArgumentTypeError):
        parse_address(text)


def post(address, method, path, body=""):
    connection = http.client.HTTPConnection(*address, timeout=5)
    try:
        connection.request(method, path, body=body.encode())
        return connection.getresponse().status
    finally:
        connection.close()


@pytest.mark.parametrize("notice", imds.NOTICES)
def test_a_notice_is_served_from_when_a_test_posts_it_until_it_takes_it_back(notice):
    metadata = dict(METADATA)
    (server,) = serve([("127.0.0.1", 0)], imds.make_handler(metadata, RequestLog(None)))
    address = server.server_address[:2]
    try:
        path = imds.NOTICE_PREFIX + notice
        headers = {imds.TOKEN_HEADER: token(address)}
        assert request(address, "GET", path, headers)[0] == 404
        body = json.dumps({"action": "terminate", "time": "2026-11-30T12:04:25Z"})
        assert post(address, "PUT", imds.CONTROL_PREFIX + notice, body) == 200
        assert request(address, "GET", path, headers) == (200, body)
        # Still IMDSv2 only.
        assert request(address, "GET", path)[0] == 401
        assert post(address, "DELETE", imds.CONTROL_PREFIX + notice) == 200
        assert request(address, "GET", path, headers)[0] == 404
        assert post(address, "POST", imds.CONTROL_PREFIX + notice, "not json") == 400
        assert post(address, "POST", imds.CONTROL_PREFIX + "meta-data/instance-id", "{}") == 404
    finally:
        server.shutdown()


def test_refused_tokens():
    (server,) = serve([("127.0.0.1", 0)], imds.make_handler(dict(METADATA), RequestLog(None), refuse_tokens=403))
    try:
        assert request(server.server_address[:2], "PUT", imds.TOKEN_PATH, {imds.TTL_HEADER: "60"})[0] == 403
    finally:
        server.shutdown()
