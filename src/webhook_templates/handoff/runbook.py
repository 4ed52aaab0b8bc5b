"""HANDOFF.md's runbook: for every alarm in the template, what it means, its likely causes, the
first commands to run and how to recover.

The alarms are read from the template, so an alarm without an entry here (or an entry for an
alarm the template lacks) stops the render instead of leaving a page unexplained. Each entry's
``get-metric-data`` queries are the alarm's own metric (namespace, name, dimensions, statistic,
period: ``metrics.py``'s, through ``stack/monitoring.py``), its values resolved to the block's
shell variables; the Logs Insights queries break the function's log lines down by the handler's
``reason`` (its error code). The prose is ``templates/section-runbook.md.j2``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .. import metrics
from ..config import EnvironmentConfig
from ..stack import naming
from ..stack.parameters import parameter_values
from .markdown import codes
from .sender_contract import HandlerError

#: The environment the blocks are written for; a reader changes ``ENV=`` to use another.
SAMPLE_ENVIRONMENT = "staging"
#: How the blocks name what the template names by reference.
SHELL_VARIABLES: Mapping[str, str] = {"Environment": "$ENV", naming.FUNCTION_ID: "$FUNCTION"}
_SUB_NAME = re.compile(r"\$\{([\w:]+)\}")
_BY_REASON = f"by {metrics.REASON}, statusCode"
_OUTCOME_IS = f"filter {metrics.OUTCOME} = "


@dataclass(frozen=True)
class Entry:
    """One alarm's page: Markdown with ``{signature}``-style slots for the handler's codes."""

    meaning: str
    causes: tuple[str, ...]
    recovery: tuple[str, ...]
    #: Logs Insights over the function's log group, by reason.
    function_query: str
    #: Logs Insights over the API's access log group, when the edge tells more than the function.
    access_query: str | None = None
    #: Further first commands (shell, using the block's variables).
    commands: tuple[str, ...] = ()


def _count_by_reason(outcome: str) -> str:
    return (f'{_OUTCOME_IS}"{outcome}" | stats count(*) as {metrics.DELIVERIES} {_BY_REASON}'
            f" | sort {metrics.DELIVERIES} desc")


ENTRIES: Mapping[str, Entry] = {
    metrics.FUNCTION_ERRORS_ALARM_ID: Entry(
        meaning="Lambda counted an invocation that failed outside the handler's own answers: an unhandled "
                "error, a timeout, running out of memory or a failed initialisation. The handler answers every "
                "failure it catches itself ({server}), so this is rarer and worse; API Gateway answers the "
                "sender 5XX, and the sender retries.",
        causes=("a release whose code or configuration breaks the function (this alarm is a rollback trigger: "
                "during a traffic shift CodeDeploy rolls the release back by itself)",
                "the function's timeout or memory too small for the work (`timeout_seconds`, `memory_mb`)",
                "a runtime or dependency problem at cold start"),
        recovery=("during a release: let CodeDeploy's rollback finish, or stop the deployment with "
                  "`--auto-rollback-enabled` (Releases above); outside one, deploy the previous bundle",
                  "a timeout or memory error: raise `timeout_seconds` or `memory_mb` in `environments.toml` "
                  "and deploy",
                  "nothing is lost while senders retry: the 5XX answers are retried with the same `webhook-id`"),
        function_query='filter level = "ERROR" or (type = "platform.report" and record.status != "success")'
                       f" | stats count(*) as lines by {metrics.REASON}, errorType, record.status",
    ),
    metrics.FUNCTION_THROTTLES_ALARM_ID: Entry(
        meaning="Lambda refused to run the function: every concurrent execution it may use was busy. "
                "Throttled requests never reach the handler, so they are not in its log; the sender gets an "
                "error from API Gateway and retries.",
        causes=("more concurrent deliveries than `reserved_concurrency` allows (a sender's backlog after an "
                "outage, a traffic peak)",
                "the account's regional concurrency used up by other functions, when no reservation is set",
                "slower requests (see `ApiLatencyP99`): the same traffic needs more concurrent executions"),
        recovery=("raise `reserved_concurrency` in `environments.toml` (or set it, so other functions cannot "
                  "take this one's share) and deploy; ask AWS for a higher account quota if the account is full",
                  "to shed load before the function, lower `throttle_rate_limit`/`throttle_burst_limit`: "
                  "API Gateway then answers 429, which senders retry",
                  "not a rollback trigger: load, not a bad release"),
        function_query=f"filter ispresent({metrics.OUTCOME}) | stats count(*) as {metrics.DELIVERIES} "
                       f"by {metrics.REASON}, bin(1m)",
        commands=('aws lambda get-function-concurrency --function-name "$FUNCTION"',
                  "aws lambda get-account-settings --query AccountLimit"),
    ),
    metrics.REFUSALS_ALARM_ID: Entry(
        meaning="The function refused deliveries (outcome `rejected`) at least `refusal_alarm_threshold` times "
                "in 5 minutes. Every refusal is a transaction not stored: the sender retries some and gives up "
                "after its retry window (Stripe's is 3 days), and then it is lost.",
        causes=("401 ({signature}): most often a signing secret that no longer matches ours, rotated on one "
                "side only (below: the rotation overlap and the redelivery); `timestamp_out_of_tolerance` alone "
                "is a sender's clock more than the tolerance off, or old deliveries replayed",
                "a sender whose payload changed: {validation}",
                "a body over the size limit: {size}; a `webhook-id` reused for another body: {reused}; "
                "another method than POST: {method}"),
        recovery=("signature and timestamp codes: see the secret mismatch below; a clock: ask the sender to fix "
                  "its clock and redeliver",
                  "validation codes: the log's `message` names the field; send the sender the contract "
                  "(The request senders make) or, if the new payload is right, change the handler in a release; "
                  "then ask for a redelivery of the refused time range",
                  "not a rollback trigger: a sender's misconfiguration is not a bad release"),
        function_query=_count_by_reason(metrics.REJECTED),
    ),
    metrics.API_5XX_ALARM_ID: Entry(
        meaning="At least 1 % of requests got a 5XX in 5 minutes: the handler's own {server}, or API Gateway "
                "failing to get an answer from the function. Nothing was stored for those requests, and "
                "senders retry them.",
        causes=("`service_unavailable`: DynamoDB or Secrets Manager throttled, unavailable, or too little of the "
                "invocation's time left (the sender gets `Retry-After`)",
                "`configuration_error`: the function's environment or the secret's value is wrong "
                "(the log line names which)",
                "`internal_error`: a bug (the log line has the error's type and line) or a release "
                "(this alarm is a rollback trigger)",
                "no handler line at all: the function failed or timed out (see `FunctionErrors`)"),
        recovery=("a release: CodeDeploy rolls it back during the shift; otherwise deploy the previous bundle",
                  "`service_unavailable`: the dashboard's DynamoDB throttles and the secret's reads; it clears "
                  "when they do, and senders' retries store what was refused",
                  "`configuration_error`: fix the secret's JSON or the parameter, then deploy"),
        function_query=_count_by_reason(metrics.FAILED),
        access_query='filter status like /^5/ | stats count(*) as requests by status, error, integrationStatus',
    ),
    metrics.API_LATENCY_ALARM_ID: Entry(
        meaning="API Gateway's p99 latency stayed above 2 s in 2 of 3 five-minute periods. Senders time out and "
                "retry slow deliveries, which adds load.",
        causes=("cold starts: the edge's p99 far above the handler's `latencyMs` (set `provisioned_concurrency`, "
                "or `snap_start`)",
                "DynamoDB or Secrets Manager slow: the handler's own p99 high (X-Ray traces show the call)",
                "throttling upstream: see `FunctionThrottles`"),
        recovery=("compare the edge's and the handler's p99 (`webhook-templates status` prints both) to tell "
                  "cold starts from slow calls",
                  "not a rollback trigger: latency measures load more often than a release"),
        function_query=f"filter ispresent({metrics.LATENCY}) | stats pct({metrics.LATENCY}, 99) as p99Ms, "
                       f"count(*) as {metrics.DELIVERIES} {_BY_REASON} | sort p99Ms desc",
    ),
    metrics.API_4XX_ALARM_ID: Entry(
        meaning="API Gateway answered 4XX to at least `edge_4xx_alarm_percent` of the requests in 5 minutes "
                "(once `edge_4xx_alarm_min_requests` came). It counts the function's refusals and API "
                "Gateway's own: a payload its model refuses never reaches the function, so only this alarm "
                "and the access log see it.",
        causes=("a sender whose payload changed: `BAD_REQUEST_BODY` in the access log, `validationError` "
                "naming the field",
                "throttling at the stage: `THROTTLED` (429), which senders retry",
                "requests to another path or method (scanners): `MISSING_AUTHENTICATION_TOKEN` (403)",
                "the function's refusals: see `DeliveryRefusals`"),
        recovery=("a changed payload: send the sender the request model (The request senders make), then ask for "
                  "a redelivery of the refused time range",
                  "throttling: raise `throttle_rate_limit`/`throttle_burst_limit` in `environments.toml`",
                  "stray traffic: raise `edge_4xx_alarm_min_requests` if it pages on noise",
                  "not a rollback trigger"),
        function_query=_count_by_reason(metrics.REJECTED),
        access_query="filter status like /^4/ | stats count(*) as requests by status, error, validationError"
                     " | sort requests desc",
    ),
}


def _shell(value: Any) -> Any:
    """A template value as the block writes it: references become the block's shell variables."""
    if isinstance(value, list):
        return [_shell(item) for item in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Ref"}:
        return SHELL_VARIABLES.get(value["Ref"], "${" + value["Ref"] + "}")
    if set(value) == {"Fn::Sub"}:
        return _SUB_NAME.sub(lambda match: _shell({"Ref": match.group(1)}), value["Fn::Sub"])
    return {key: _shell(item) for key, item in value.items()}


def metric_queries(alarm: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``get-metric-data``'s queries for what ``alarm`` (an ``AWS::CloudWatch::Alarm``'s properties) reads."""
    if "Metrics" in alarm:
        return [_shell(query) for query in alarm["Metrics"]]
    metric = {key: alarm[key] for key in ("Namespace", "MetricName", "Dimensions")}
    stat = alarm.get("Statistic") or alarm["ExtendedStatistic"]
    return [{"Id": "m", "MetricStat": {"Metric": _shell(metric), "Period": alarm["Period"], "Stat": stat},
             "ReturnData": True}]


def _parameters_read(alarm: Mapping[str, Any]) -> list[str]:
    """The template parameters (besides the environment) an alarm's metric queries name."""
    text = json.dumps(metric_queries(alarm))
    return sorted(set(re.findall(r"\$\{(\w+)\}", text)))


def _code_slots(errors: Sequence[HandlerError]) -> dict[str, str]:
    """The handler's error codes by kind, as Markdown, for the entries' ``{slots}``."""
    def of(*statuses: int) -> str:
        return codes(e.code for e in errors if e.status in statuses) or "none"
    return {"signature": of(401), "validation": of(400), "size": of(413), "reused": of(422), "method": of(405),
            "server": of(500, 502, 503, 504)}


def _entry(alarm_id: str, alarm: Mapping[str, Any], slots: Mapping[str, str],
           sample: Mapping[str, str]) -> dict[str, Any]:
    try:
        entry = ENTRIES[alarm_id]
    except KeyError:
        raise KeyError(f"alarm {alarm_id!r} has no runbook entry: add one to runbook.ENTRIES") from None
    return {
        "id": alarm_id,
        "name": metrics.alarm_suffix(alarm_id),
        "description": alarm.get("AlarmDescription", ""),
        "meaning": entry.meaning.format(**slots),
        "causes": [cause.format(**slots) for cause in entry.causes],
        "recovery": [step.format(**slots) for step in entry.recovery],
        "function_query": entry.function_query,
        "access_query": entry.access_query,
        "commands": list(entry.commands),
        "variables": [(name, sample[name]) for name in _parameters_read(alarm)],
        # One query a line: short enough to read, still the JSON the CLI takes.
        "queries": "[\n" + ",\n".join("  " + json.dumps(q) for q in metric_queries(alarm)) + "\n]",
    }


def facts(body: Mapping[str, Any], errors: Sequence[HandlerError],
          environments: Mapping[str, EnvironmentConfig] | None = None) -> dict[str, Any]:
    """One entry per alarm of the template, in its order, and the secret mismatch's facts.

    Raises ``KeyError`` for an alarm without an entry and for an entry without its alarm.
    """
    alarms = {k: r["Properties"] for k, r in body["Resources"].items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    stale = sorted(set(ENTRIES) - set(alarms))
    if stale:
        raise KeyError(f"runbook.ENTRIES explains alarms the template lacks: {', '.join(stale)}")
    config = (environments or {}).get(SAMPLE_ENVIRONMENT) or EnvironmentConfig(name=SAMPLE_ENVIRONMENT)
    sample = parameter_values(config)
    slots = _code_slots(errors)
    signature = [e.code for e in errors if e.status == 401]
    return {
        "environment": SAMPLE_ENVIRONMENT,
        "function": naming.FUNCTION,
        "function_log_group": naming.FUNCTION_LOG_GROUP,
        "access_log_group": naming.ACCESS_LOG_GROUP,
        "secret": naming.SIGNING_SECRET,
        "alarms": [_entry(alarm_id, alarm, slots, sample) for alarm_id, alarm in alarms.items()],
        "signature_codes": signature,
        "signature_filter": f"filter {metrics.REASON} in {json.dumps(signature)}",
    }
