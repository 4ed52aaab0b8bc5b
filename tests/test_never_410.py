"""No path answers 410 Gone: Standard Webhooks senders disable an endpoint that does.

Every status the handler can answer (each ``Reject(...)`` and each server error), every gateway
response the template declares, and every status the local gateway emulation answers.
"""
from __future__ import annotations

import ast
from typing import Any

from support.handler_loader import APP, APP_PATH
from webhook_templates.local import gateway

GONE = 410


def _handler_statuses() -> set[int]:
    """The literal first argument of every ``Reject(...)`` call in handler/app.py, and the
    statuses of its server errors."""
    tree = ast.parse(APP_PATH.read_text())
    statuses = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Reject":
            first = node.args[0]
            if isinstance(first, ast.Constant):
                statuses.add(first.value)
            else:  # Reject(failure.status, ...) re-raises one; Reject(status, ...) is _SERVER_ERRORS'
                assert ast.unparse(first) in ("failure.status", "status"), ast.dump(first)
    return statuses | {status for status, _ in APP._SERVER_ERRORS.values()}


def test_the_handler_never_answers_410() -> None:
    statuses = _handler_statuses()
    assert {400, 401, 405, 413, 422} <= statuses  # the walk finds the real answers
    assert GONE not in statuses


def test_no_gateway_response_answers_410(resources: dict[str, Any]) -> None:
    responses = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::ApiGateway::GatewayResponse"]
    assert responses  # the template does declare API Gateway's own answers
    assert all(str(r.get("StatusCode", "")) != str(GONE) for r in responses)
    # the response types overridden keep API Gateway's statuses, none of which is 410
    assert {r["ResponseType"] for r in responses} <= {
        "BAD_REQUEST_BODY", "REQUEST_TOO_LARGE", "THROTTLED", "DEFAULT_4XX", "DEFAULT_5XX"}


def test_the_local_gateway_never_answers_410() -> None:
    statuses = {status for status, _ in gateway._RESPONSE_STATUS.values()}
    assert statuses and GONE not in statuses


def test_the_sender_contract_states_it_from_the_same_facts(resources: dict[str, Any]) -> None:
    """The contract's retry table is every status the handler's source and the template's gateway
    responses give: the statuses above, and no 410."""
    from webhook_templates.handoff import sender_contract

    errors = sender_contract.handler_errors(APP_PATH.read_text())
    answered = sender_contract.answered_statuses(errors, {"Resources": resources})
    assert _handler_statuses() | {200} <= set(answered)
    assert {400, 403, 413, 429, 502} <= set(answered)  # API Gateway's own answers are counted too
    assert GONE not in answered


def test_a_gateway_response_answering_410_is_counted(resources: dict[str, Any]) -> None:
    """Control: a gateway response set to 410 is not hidden by the contract's facts."""
    from webhook_templates.handoff import sender_contract

    body = {"Resources": {**resources, "Gone": {"Type": "AWS::ApiGateway::GatewayResponse", "Properties": {
        "ResponseType": "DEFAULT_4XX", "StatusCode": "410"}}}}
    assert GONE in sender_contract.answered_statuses([], body)
