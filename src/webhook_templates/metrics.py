"""Delivery metrics and alarm names: the one source the template, dashboard, runbook and ``status`` read.

The handler writes these metrics as CloudWatch Embedded Metric Format in its one log line per
request (no API call, no permission: CloudWatch Logs extracts them). It is inlined standalone,
so it keeps its own literals; ``tests/handler/test_handler_metrics.py`` compares them with
``emf_directives()`` here.
"""

from __future__ import annotations

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

# The alarms that CodeDeploy and the rollback triggers name (stack.naming re-exports them).
FUNCTION_ERRORS_ALARM_ID = "FunctionErrorsAlarm"
API_5XX_ALARM_ID = "Api5xxRateAlarm"


def emf_directives() -> list[dict[str, Any]]:
    """The ``_aws.CloudWatchMetrics`` array of every request's log line (EMF specification)."""
    return [
        {"Namespace": NAMESPACE, "Dimensions": [list(d) for d in DELIVERY_DIMENSIONS],
         "Metrics": [{"Name": DELIVERIES, "Unit": "Count"}]},
        {"Namespace": NAMESPACE, "Dimensions": [list(d) for d in LATENCY_DIMENSIONS],
         "Metrics": [{"Name": LATENCY, "Unit": "Milliseconds"}]},
    ]

