"""``serve`` over real HTTP answers as the deployed stack does, with the handler tests' status codes."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
from served import ROOT, Served, request, transaction
from standardwebhooks.webhooks import Webhook

from webhook_templates.local import signing
from webhook_templates.stack import api
from webhook_templates.stack.handler_artifact import HandlerArtifact

pytestmark = pytest.mark.slow  # a serve process, over HTTP


def signed(served: Served, body: bytes, msg_id: str | None = None) -> dict[str, str]:
    return signing.signed_headers(served.secret, body, msg_id or signing.new_message_id())


def encode(document: object) -> bytes:
    return json.dumps(document).encode()


def test_banner_gives_endpoint_secret_and_an_example(served: Served) -> None:
    assert "NOT a production server" in served.banner
    assert f"signing secret  {served.secret}" in served.banner
    assert f"send --endpoint {served.url} --secret {served.secret}" in served.banner


def test_signed_delivery_is_stored(served: Served) -> None:
    before = served.stats()["transactions"]
    document = transaction()
    body = encode(document)
    status, headers, answer = request(served.url, body, signed(served, body))
    assert status == 200
    reply = json.loads(answer)
    assert reply["message"] == "Transaction processed successfully"
    assert reply["transactionId"] == document["transactionId"]
    assert headers["Content-Type"] == "application/json"
    assert headers["x-amzn-RequestId"]
    assert served.stats()["transactions"] == before + 1


def test_delivery_signed_by_the_standardwebhooks_package_is_accepted(served: Served) -> None:
    body = json.dumps(transaction())
    msg_id = signing.new_message_id()
    import datetime

    now = datetime.datetime.now(datetime.UTC)
    headers = {"webhook-id": msg_id, "webhook-timestamp": str(int(now.timestamp())),
               "webhook-signature": Webhook(served.secret).sign(msg_id, now, body),
               "Content-Type": "application/json"}
    assert request(served.url, body.encode(), headers)[0] == 200


def test_duplicate_delivery_is_answered_with_the_original_and_stored_once(served: Served) -> None:
    before = served.stats()
    body, msg_id = encode(transaction()), signing.new_message_id()
    first = request(served.url, body, signed(served, body, msg_id))
    again = request(served.url, body, signed(served, body, msg_id))
    assert first[0] == again[0] == 200
    assert first[2] == again[2]
    after = served.stats()
    assert after["transactions"] == before["transactions"] + 1
    assert after["deliveries"] == before["deliveries"] + 1


def test_unsigned_request_is_401(served: Served) -> None:
    status, _, answer = request(served.url, encode(transaction()), {"Content-Type": "application/json"})
    assert status == 401
    assert json.loads(answer)["error"] == "missing_signature_headers"


def test_wrong_secret_is_401(served: Served) -> None:
    body = encode(transaction())
    headers = signing.signed_headers(signing.generate_secret(), body, signing.new_message_id())
    status, _, answer = request(served.url, body, headers)
    assert (status, json.loads(answer)["error"]) == (401, "signature_mismatch")


def test_body_failing_the_model_is_400_with_the_gateway_response_body(served: Served) -> None:
    body = encode({"transactionId": "t1", "amount": -5, "currency": "usd"})
    before = served.stats()["items"]
    status, headers, answer = request(served.url, body, signed(served, body))
    assert status == 400
    code, _ = api.GATEWAY_ERRORS["BAD_REQUEST_BODY"]
    reply = json.loads(answer)
    assert set(reply) == {"error", "message"}
    assert reply["error"] == code
    assert "'usd' does not match" in reply["message"]
    assert headers["x-amzn-ErrorType"] == "BadRequestException"
    assert served.stats()["items"] == before  # the function never ran


def test_body_that_is_not_json_is_400_invalid_request_body(served: Served) -> None:
    status, _, answer = request(served.url, b"{not json", {"Content-Type": "application/json"})
    assert (status, json.loads(answer)) == (400, {"error": "validation_failed", "message": "Invalid request body"})


def test_body_that_passes_the_model_but_not_the_handler_is_400_from_the_handler(served: Served) -> None:
    body = encode(transaction(currency="XYZ"))  # three capitals, but no such currency
    status, _, answer = request(served.url, body, signed(served, body))
    assert status == 400
    assert json.loads(answer)["message"].startswith("currency:")


def test_oversize_body_is_413(served: Served, handler_artifact: HandlerArtifact) -> None:
    body = encode(transaction(metadata={"padding": "x" * handler_artifact.limits.max_body_bytes}))
    status, _, answer = request(served.url, body, signed(served, body))
    assert (status, json.loads(answer)["error"]) == (413, "payload_too_large")


def test_non_utf8_body_reaches_the_handler_as_the_exact_signed_bytes(served: Served) -> None:
    body = b'{"transactionId":"t\xff"}'
    headers = {**signed(served, body), "Content-Type": "application/octet-stream"}
    status, _, answer = request(served.url, body, headers)
    # Signature verified over the raw bytes (base64 in the event), then rejected as JSON.
    assert (status, json.loads(answer)["error"]) == (400, "invalid_json")


@pytest.mark.parametrize(("method", "path"), [("GET", "/webhook"), ("PUT", "/webhook"), ("POST", "/other")])
def test_routes_the_api_does_not_define_are_403_like_api_gateway(served: Served, method: str, path: str) -> None:
    status, headers, answer = request(served.base + path, b"{}" if method != "GET" else None, method=method)
    assert status == 403
    assert json.loads(answer) == {"error": "request_rejected", "message": "Missing Authentication Token"}
    assert headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_serve_runs_this_command_on_the_given_port() -> None:
    dry_run = subprocess.run(["make", "-n", "serve", "PORT=8080"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout
    assert re.search(r"webhook-templates serve --port 8080$", dry_run, re.M)


def test_concurrent_copies_of_one_delivery_are_stored_once(served: Served) -> None:
    from concurrent.futures import ThreadPoolExecutor

    before = served.stats()
    deliveries = [(encode(transaction()), signing.new_message_id()) for _ in range(4)]
    copies = [delivery for delivery in deliveries for _ in range(5)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda d: request(served.url, d[0], signed(served, *d)), copies))
    assert {status for status, _, _ in answers} == {200}
    for index in range(0, len(answers), 5):  # every copy got the first copy's response
        assert len({body for _, _, body in answers[index:index + 5]}) == 1
    assert served.stats()["transactions"] == before["transactions"] + len(deliveries)
