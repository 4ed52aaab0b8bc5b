"""Delivery metrics and alarm names: the one source the template, dashboard, runbook and ``status`` read.

The handler writes these metrics as CloudWatch Embedded Metric Format in its one log line per
request (no API call, no permission: CloudWatch Logs extracts them). It is inlined standalone,
so it keeps its own literals; ``tests/handler/test_handler_metrics.py`` compares them with
``emf_directives()`` here.
"""

from __future__ import annotations

import json
import logging
from typing import Any

NAMESPACE = "WebhookReceiver"

#: Log-line members that are dimensions; their values are bounded (no ids).
ENVIRONMENT = "environment"
OUTCOME = "outcome"
REASON = "reason"

#: 1 per request, counted by outcome and by outcome and reason.
DELIVERIES = "deliveries"
#: The handler's own time per request, in milliseconds: the function's latency without
#: Lambda's and API Gateway's overhead.
LATENCY = "latencyMs"

#: Every request ends in exactly one of these; ``reason`` is the handler's error code for
#: the last two and repeats the outcome for the first two.
PROCESSED, DUPLICATE, REJECTED, FAILED = OUTCOMES = ("processed", "duplicate", "rejected", "failed")

DELIVERY_DIMENSIONS: tuple[tuple[str, ...], ...] = ((ENVIRONMENT, OUTCOME), (ENVIRONMENT, OUTCOME, REASON))
LATENCY_DIMENSIONS: tuple[tuple[str, ...], ...] = ((ENVIRONMENT,),)

# The alarms' logical IDs. CodeDeploy and the rollback triggers name the first two
# (stack.naming re-exports them); each alarm is named ``<stack>-<ID without "Alarm">``.
FUNCTION_ERRORS_ALARM_ID = "FunctionErrorsAlarm"
API_5XX_ALARM_ID = "Api5xxRateAlarm"
FUNCTION_THROTTLES_ALARM_ID = "FunctionThrottlesAlarm"
API_LATENCY_ALARM_ID = "ApiLatencyP99Alarm"
#: Deliveries the function refused (outcome ``rejected``): signature, timestamp, validation.
REFUSALS_ALARM_ID = "DeliveryRefusalsAlarm"
#: API Gateway's own 4XX answers as a share of requests (the model refusing a payload).
API_4XX_ALARM_ID = "Api4xxRateAlarm"
ALARM_IDS: tuple[str, ...] = (FUNCTION_ERRORS_ALARM_ID, FUNCTION_THROTTLES_ALARM_ID, REFUSALS_ALARM_ID,
                              API_5XX_ALARM_ID, API_LATENCY_ALARM_ID, API_4XX_ALARM_ID)


def alarm_suffix(logical_id: str) -> str:
    """What follows ``<stack>-`` in the alarm's name."""
    return logical_id.removesuffix("Alarm")


def alarm_name(stack_name: str, logical_id: str) -> str:
    """The deployed alarm's name in stack ``stack_name``."""
    return f"{stack_name}-{alarm_suffix(logical_id)}"


def emf_directives() -> list[dict[str, Any]]:
    """The ``_aws.CloudWatchMetrics`` array of every request's log line (EMF specification)."""
    return [
        {"Namespace": NAMESPACE, "Dimensions": [list(d) for d in DELIVERY_DIMENSIONS],
         "Metrics": [{"Name": DELIVERIES, "Unit": "Count"}]},
        {"Namespace": NAMESPACE, "Dimensions": [list(d) for d in LATENCY_DIMENSIONS],
         "Metrics": [{"Name": LATENCY, "Unit": "Milliseconds"}]},
    ]



#: LogRecord attributes Lambda's Python runtime leaves out of a JSON log line (awslambdaric's
#: ``JsonFormatter``, its ``_RESERVED_FIELDS``).
LAMBDA_RESERVED_FIELDS = frozenset((
    "name", "msg", "args", "levelname", "levelno", "pathname", "filename", "module", "exc_info", "exc_text",
    "stack_info", "lineno", "funcName", "created", "msecs", "relativeCreated", "thread", "threadName",
    "processName", "process", "aws_request_id", "tenant_id", "_frame_type", "taskName", "message"))


def lambda_json_line(record: logging.LogRecord, *, timestamp: str = "2024-01-01T00:00:00.000Z",
                     request_id: str = "8f5e3c1a-7b2d-4e9f-a6c0-1d2b3c4d5e6f") -> str:
    """The line Lambda's JSON log format writes for ``record``: its own members, then the record's
    ``extra`` ones at the top level (where CloudWatch Logs finds ``_aws``), ``None`` values dropped."""
    line: dict[str, Any] = {"timestamp": timestamp, "level": record.levelname, "message": record.getMessage(),
                            "logger": record.name, "requestId": request_id}
    line.update((k, v) for k, v in vars(record).items() if k not in LAMBDA_RESERVED_FIELDS and k not in line)
    return json.dumps({k: v for k, v in line.items() if v is not None})
