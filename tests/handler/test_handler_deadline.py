"""The deadline: no AWS call starts unless it can end before Lambda's timeout; 503 instead.

Lambda cuts an invocation off at its timeout; API Gateway then answers 5xx and the function
logs nothing. The handler asks the context how much time is left before every AWS call and
answers 503 with Retry-After while it still can.
"""
from __future__ import annotations

import json
from typing import Any

from botocore.stub import Stubber

from support.handler_loader import payload, record_calls


class FakeContext:
    """Lambda's context, reporting the given remaining times in turn (the last one repeats)."""

    def __init__(self, *remaining_ms: int) -> None:
        self.remaining = list(remaining_ms)
        self.asked = 0

    def get_remaining_time_in_millis(self) -> int:
        self.asked += 1
        return self.remaining.pop(0) if len(self.remaining) > 1 else self.remaining[0]


def _budget(app: Any) -> int:
    """What one call needs: its worst case plus the margin to answer."""
    return app._CALL_WORST_MS + app._ANSWER_MARGIN_MS


def _calls(app: Any) -> tuple[list[str], list[str]]:
    container = app.use_clients()
    return record_calls(container.sm, "secrets-manager"), record_calls(container.ddb, "dynamodb")


def _answer(resp: dict[str, Any]) -> tuple[int, str, str | None]:
    return resp["statusCode"], json.loads(resp["body"])["error"], resp["headers"].get("Retry-After")


def test_too_little_time_answers_503_before_any_aws_call(app, account, sender, request_logs):
    sm_calls, ddb_calls = _calls(app)
    context = FakeContext(_budget(app) - 1)
    resp = app.lambda_handler(sender.event(payload()), context)
    assert _answer(resp) == (503, "service_unavailable", "5")
    assert sm_calls == [] and ddb_calls == []
    assert account.items() == []
    assert context.asked == 1
    assert request_logs()[-1].reason == "service_unavailable"


def test_time_for_the_secret_but_not_the_write(app, account, sender):
    sm_calls, ddb_calls = _calls(app)
    resp = app.lambda_handler(sender.event(payload()), FakeContext(_budget(app), _budget(app) - 1))
    assert _answer(resp) == (503, "service_unavailable", "5")
    assert sm_calls == ["GetSecretValue"] and ddb_calls == []
    assert account.items() == []


def test_enough_time_is_a_normal_delivery(app, account, sender):
    context = FakeContext(_budget(app))
    assert app.lambda_handler(sender.event(payload()), context)["statusCode"] == 200
    assert context.asked == 2  # before the secret read and before the write
    assert len(account.transactions()) == 1


def test_marker_reads_stop_when_the_next_pause_and_read_would_not_fit(app, sender, clock):
    app.use_clients().legacy_until = 0  # long after the upgrade: no earlier markers to read
    budget = _budget(app)
    pause_ms = int(app._MARKER_READ_PAUSES[0] * 1000)
    with Stubber(app.use_clients().ddb) as stub:
        stub.add_client_error(
            "transact_write_items", service_error_code="TransactionCanceledException", http_status_code=400,
            modeled_fields={"CancellationReasons": [{"Code": "TransactionConflict"}, {"Code": "None"}]})
        stub.add_response("get_item", {})  # the marker is not there yet
        # write, first read: enough; second read: not enough for its pause plus the call
        context = FakeContext(budget, budget, budget, budget + pause_ms - 1)
        resp = app.lambda_handler(sender.event(payload(), ts=int(clock.now)), context)
        stub.assert_no_pending_responses()
    assert _answer(resp) == (503, "service_unavailable", "5")
    assert clock.slept == []  # it did not wait for a read it was not going to make


def test_without_a_context_there_is_no_deadline(app, account, sender):
    """Scripts and tests call lambda_handler(event, None): no time limit to keep."""
    assert app.lambda_handler(sender.event(payload()), None)["statusCode"] == 200


def test_a_call_is_bounded_by_the_client_configuration(app):
    """The worst case the deadline assumes is the one botocore is configured for."""
    for client in (app.use_clients().ddb, app.use_clients().sm):
        config = client.meta.config
        attempts = config.retries["total_max_attempts"]
        assert config.retries["mode"] == "standard"  # first retry waits at most 1 s
        worst_ms = 1000 * (attempts * (config.connect_timeout + config.read_timeout) + attempts - 1)
        assert worst_ms == app._CALL_WORST_MS
    # every environment's timeout leaves time for at least one full call and the answer
    # (a function timeout under 6 s would answer every verified request 503)
    from support.handler_loader import ROOT
    from webhook_templates.config import load_environments

    environments = load_environments(ROOT / "environments.toml")
    assert _budget(app) < min(env.timeout_seconds for env in environments.values()) * 1000
