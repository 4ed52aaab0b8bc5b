"""Every request's log line is a valid CloudWatch Embedded Metric Format document.

Under the function's JSON log format, Lambda's Python runtime (awslambdaric's
``JsonFormatter``) writes the record's ``extra`` members at the top level of the JSON line, next
to ``timestamp``, ``level``, ``message``, ``logger`` and ``requestId``; CloudWatch Logs extracts
metrics from a line whose top level holds ``_aws``. ``metrics.lambda_json_line`` applies the same
rule, and ``_emf_problems`` checks the document against the EMF specification's structure.
"""
from __future__ import annotations

import json
import logging
from typing import Any
from unittest import mock

from botocore.stub import Stubber

from support.handler_loader import APP, make_event, payload
from webhook_templates import metrics


def _lambda_json_line(record: logging.LogRecord) -> dict[str, Any]:
    """The JSON object Lambda writes for ``record``."""
    line: dict[str, Any] = json.loads(metrics.lambda_json_line(record))
    return line


def _emf_problems(doc: dict[str, Any]) -> list[str]:
    """What in ``doc`` breaks the EMF specification (empty when it is valid)."""
    meta = doc.get("_aws")
    if not isinstance(meta, dict) or not isinstance(meta.get("Timestamp"), int):
        return ["_aws.Timestamp must be epoch milliseconds"]
    problems = [f"_aws has unknown member {k}" for k in meta if k not in ("Timestamp", "CloudWatchMetrics")]
    directives = meta.get("CloudWatchMetrics")
    if not isinstance(directives, list) or not directives:
        return problems + ["_aws.CloudWatchMetrics must be a non-empty array"]
    for directive in directives:
        if set(directive) != {"Namespace", "Dimensions", "Metrics"} or not directive["Namespace"]:
            problems.append(f"directive members {sorted(directive)}")
        for dimension_set in directive.get("Dimensions", []):
            if not 1 <= len(dimension_set) <= 30:
                problems.append(f"dimension set {dimension_set}")
            problems += [f"dimension {d} is not a string member" for d in dimension_set
                         if not (isinstance(doc.get(d), str) and doc[d])]
        metric_list = directive.get("Metrics", [])
        if not 1 <= len(metric_list) <= 100:
            problems.append("1-100 metrics per directive")
        for metric in metric_list:
            value = doc.get(metric.get("Name"))
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                problems.append(f"metric {metric} has no numeric member")
            if metric.get("Unit") not in (None, "Count", "Milliseconds"):
                problems.append(f"unit of {metric}")
    return problems


def _requests(invoke, app, sender) -> list[tuple[int, str]]:
    """One request of every outcome: processed, duplicate, rejected (401/400/413/422), failed (503/500)."""
    delivery = sender.event(payload(transactionId="emf-1"), msg_id="msg_emf")
    for event in (delivery, delivery, sender.event(payload(amount=-1)), make_event("{}", {}),
                  sender.event("x" * 70000), sender.event(payload(amount=2), msg_id="msg_emf")):
        invoke(event)
    with Stubber(app.use_clients().ddb) as stub:
        stub.add_client_error("transact_write_items", service_error_code="ThrottlingException")
        invoke(sender.event(payload()))
    with mock.patch.object(app, "_parse", side_effect=ValueError("bug")):
        invoke(sender.event(payload()))
    return [(200, "processed"), (200, "duplicate"), (400, "validation_failed"),
            (401, "missing_signature_headers"), (413, "payload_too_large"), (422, "idempotency_key_reused"),
            (503, "service_unavailable"), (500, "internal_error")]


def test_every_outcome_is_valid_emf_with_its_dimensions(invoke, app, sender, request_logs):
    expected = _requests(invoke, app, sender)
    lines = [_lambda_json_line(r) for r in request_logs()]
    assert [(line["statusCode"], line["reason"]) for line in lines] == expected
    for line in lines:
        assert _emf_problems(line) == [], line
        assert line["environment"] == "test"
        assert line["deliveries"] == 1 and line["latencyMs"] >= 0
    assert [line["outcome"] for line in lines] == [
        "processed", "duplicate", "rejected", "rejected", "rejected", "rejected", "failed", "failed"]


def test_dimensions_carry_no_ids(invoke, app, sender, request_logs):
    invoke(sender.event(payload(transactionId="emf-id"), msg_id="msg_id"))
    [line] = [_lambda_json_line(r) for r in request_logs()]
    dimensions = {d for directive in line["_aws"]["CloudWatchMetrics"] for s in directive["Dimensions"] for d in s}
    assert dimensions == {metrics.ENVIRONMENT, metrics.OUTCOME, metrics.REASON}
    assert not {"transactionId", "deliveryId"} & dimensions


def test_the_handler_emits_the_generators_metrics():
    """The handler is inlined standalone and keeps its own literals: they must be metrics.py's."""
    assert APP._EMF_METRICS == metrics.emf_directives()


def test_the_validator_catches_a_broken_document():
    """Control: the structural check is not vacuous."""
    good = {"_aws": {"Timestamp": 1, "CloudWatchMetrics": metrics.emf_directives()},
            "environment": "e", "outcome": "processed", "reason": "processed", "deliveries": 1, "latencyMs": 1.0}
    assert _emf_problems(good) == []
    for broken in ({**good, "reason": None}, {**good, "deliveries": "1"}, {**good, "_aws": {"Timestamp": 1}},
                   {**good, "environment": 3}):
        assert _emf_problems(broken)



def _resolved(value: Any, environment: str) -> Any:
    """A template value with ``Ref Environment`` replaced by ``environment`` (what CloudFormation does)."""
    return environment if value == {"Ref": "Environment"} else value


def test_the_refusals_alarm_watches_what_the_handler_emits(invoke, sender, request_logs, resources):
    """Read both: the alarm in the template, and the line the handler writes for a refused delivery."""
    alarm = resources[metrics.REFUSALS_ALARM_ID]["Properties"]
    function = resources["WebhookFunction"]["Properties"]
    # The handler's environment dimension is the ENVIRONMENT variable the template gives it.
    assert function["Environment"]["Variables"]["ENVIRONMENT"] == {"Ref": "Environment"}
    invoke(sender.event(payload(amount=-1)))
    [line] = [_lambda_json_line(r) for r in request_logs()]
    watched = {d["Name"]: _resolved(d["Value"], line["environment"]) for d in alarm["Dimensions"]}
    assert watched == {metrics.ENVIRONMENT: "test", metrics.OUTCOME: "rejected"}
    directives = [d for d in line["_aws"]["CloudWatchMetrics"]
                  if d["Namespace"] == alarm["Namespace"] and alarm["MetricName"] in {m["Name"] for m in d["Metrics"]}]
    assert directives, "the handler emits no metric of the alarm's namespace and name"
    # CloudWatch publishes one series per dimension set: the alarm's must be one of them, exactly.
    assert sorted(watched) in [sorted(s) for d in directives for s in d["Dimensions"]]
    assert {k: line[k] for k in watched} == watched
    assert alarm["Statistic"] == "Sum" and line[alarm["MetricName"]] == 1


def test_the_cost_tables_emf_bytes_are_what_the_handler_writes(invoke, sender, request_logs):
    """handoff/cost.py counts the EMF members of an accepted delivery's line: the real line's."""
    from webhook_templates.config import EnvironmentConfig
    from webhook_templates.handoff import cost

    invoke(sender.event(payload(transactionId="emf-bytes")))
    [record] = request_logs()
    line = metrics.lambda_json_line(record)
    for member in ("_aws", metrics.ENVIRONMENT, metrics.REASON, metrics.DELIVERIES):
        delattr(record, member)
    assert len(line) - len(metrics.lambda_json_line(record)) == cost.emf_bytes(EnvironmentConfig(name="test"))
