"""The API Gateway layer of the local server, as pure functions."""

from __future__ import annotations

import base64
import json

import pytest

from webhook_templates.config import ConfigError
from webhook_templates.handoff.render import template_dict
from webhook_templates.local import emulated_aws, gateway, signing
from webhook_templates.local.serve import loopback_host
from webhook_templates.stack import api, naming
from webhook_templates.stack.handler_artifact import HandlerArtifact
from webhook_templates.stack.template import build_template


def make(
    body: bytes = b'{"a":1}', headers: list[tuple[str, str]] | None = None, target: str = "/webhook"
) -> gateway.Request:
    return gateway.Request("POST", target, headers or [("Content-Type", "application/json")], body,
                           "127.0.0.1", "req-1", 1_700_000_000_123)


def test_proxy_event_has_the_rest_v1_shape() -> None:
    headers = [("Content-Type", "application/json"), ("X-Repeat", "one"), ("X-Repeat", "two"),
               ("User-Agent", "sender/1.0")]
    event = gateway.to_proxy_event(make(headers=headers, target="/webhook?a=1&a=2&b="))
    assert event["resource"] == event["path"] == "/webhook"
    assert event["httpMethod"] == "POST"
    assert event["headers"]["X-Repeat"] == "two"  # last value, as API Gateway keeps it
    assert event["multiValueHeaders"]["X-Repeat"] == ["one", "two"]
    assert event["queryStringParameters"] == {"a": "2", "b": ""}
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"], "b": [""]}
    assert (event["body"], event["isBase64Encoded"]) == ('{"a":1}', False)
    context = event["requestContext"]
    assert context["stage"] == "local" and context["path"] == "/local/webhook"
    assert context["requestId"] == "req-1" and context["requestTimeEpoch"] == 1_700_000_000_123
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["identity"]["userAgent"] == "sender/1.0"
    assert context["requestTime"] == "14/Nov/2023:22:13:20 +0000"


def test_bytes_that_are_not_utf8_are_sent_base64() -> None:
    event = gateway.to_proxy_event(make(body=b"\xff\x00raw"))
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\xff\x00raw"


def test_no_body_is_null_and_no_query_is_null() -> None:
    event = gateway.to_proxy_event(make(body=b""))
    assert event["body"] is None
    assert event["queryStringParameters"] is None


@pytest.mark.parametrize(("content_type", "validated"), [
    ("application/json", True), ("Application/JSON; charset=utf-8", True), (None, True),
    ("text/plain", False), ("application/x-www-form-urlencoded", False),
])
def test_only_json_bodies_meet_the_model(
    content_type: str | None, validated: bool, handler_artifact: HandlerArtifact
) -> None:
    problem = gateway.validation_error(b'{"amount": "x"}', content_type, handler_artifact.limits)
    assert (problem is not None) is validated


def test_validation_uses_the_contract_schema(handler_artifact: HandlerArtifact) -> None:
    limits = handler_artifact.limits
    assert gateway.validation_error(b'{"transactionId":"t","amount":1,"currency":"USD"}', None, limits) is None
    problem = gateway.validation_error(b'{"transactionId":"t","amount":0,"currency":"USD"}', None, limits)
    assert problem is not None and "amount" not in problem and "0" in problem
    assert gateway.validation_error(b"[", None, limits) == "Invalid request body"


def test_gateway_responses_come_from_the_templates_gateway_responses() -> None:
    response = gateway.gateway_response("BAD_REQUEST_BODY", 'has "quotes"', "r")
    assert response.status == 400
    code, _ = api.GATEWAY_ERRORS["BAD_REQUEST_BODY"]
    assert json.loads(response.body) == {"error": code, "message": 'has "quotes"'}
    too_large = gateway.gateway_response("REQUEST_TOO_LARGE", "Request Too Long", "r")
    assert (too_large.status, json.loads(too_large.body)["error"]) == (413, api.GATEWAY_ERRORS["REQUEST_TOO_LARGE"][0])
    # Not customised by the template: DEFAULT_4XX's body, the type's own status.
    missing = gateway.gateway_response("MISSING_AUTHENTICATION_TOKEN", "Missing Authentication Token", "r")
    assert (missing.status, json.loads(missing.body)["error"]) == (403, api.GATEWAY_ERRORS["DEFAULT_4XX"][0])


def test_precheck_rejects_other_routes_and_the_payload_quota() -> None:
    assert gateway.precheck("POST", "/webhook?x=1", 10, "r") is None
    assert gateway.precheck("GET", "/webhook", 0, "r").status == 403
    assert gateway.precheck("POST", "/webhook/", 0, "r").status == 403
    assert gateway.precheck("POST", "/webhook", gateway.PAYLOAD_QUOTA_BYTES + 1, "r").status == 413


@pytest.mark.parametrize(("target", "path"), [
    ("/webhook", "/webhook"), ("/webhook?x=1&y=?", "/webhook"), ("/webhook/?", "/webhook/"), ("?x", ""),
])
def test_the_route_check_and_the_event_read_one_path(target: str, path: str) -> None:
    """``precheck`` routes on the same path the proxy event carries: one function derives it."""
    assert gateway.path_of(target) == path == make(target=target).path
    routed = gateway.precheck("POST", target, 0, "r") is None
    assert routed is (path == gateway.WEBHOOK_PATH)


def test_proxy_response_becomes_the_http_response() -> None:
    result = {"statusCode": 503, "headers": {"Retry-After": "5"}, "multiValueHeaders": {"X-A": ["1", "2"]},
              "body": base64.b64encode(b"\x00binary").decode(), "isBase64Encoded": True}
    response = gateway.proxy_response(result, "req")
    assert response.status == 503
    assert response.headers == {"Retry-After": "5", "X-A": "1, 2", "x-amzn-RequestId": "req"}
    assert response.body == b"\x00binary"


@pytest.mark.parametrize(("host", "address"), [
    ("127.0.0.1", "127.0.0.1"), ("127.0.0.2", "127.0.0.2"), ("::1", "::1"), ("localhost", "127.0.0.1"),
])
def test_loopback_hosts_are_accepted(host: str, address: str) -> None:
    assert loopback_host(host) == address


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.1", "192.168.1.2", "example.com"])
def test_other_hosts_are_refused(host: str) -> None:
    with pytest.raises(ConfigError, match="loopback"):
        loopback_host(host)


def test_the_local_table_has_the_templates_key_schema(handler_artifact: HandlerArtifact) -> None:
    """The table ``serve`` creates, read back from the emulated DynamoDB, against the template's."""
    resources = template_dict(build_template(handler_artifact))["Resources"]
    template = resources[naming.TABLE_ID]["Properties"]
    with emulated_aws.local_aws(signing.generate_secret()) as aws:
        table = aws.dynamodb.describe_table(TableName=aws.table_name)["Table"]
    assert table["KeySchema"] == template["KeySchema"]  # order matters: HASH, then RANGE
    assert sorted(table["AttributeDefinitions"], key=str) == sorted(template["AttributeDefinitions"], key=str)
    assert table["BillingModeSummary"]["BillingMode"] == template["BillingMode"]
