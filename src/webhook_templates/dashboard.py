"""The CloudWatch dashboard of one environment, from the facts the template uses (metrics, naming).

A bundle artifact (``dashboards/<env>.json``), not a template resource: it would cost the
template several KB, and neither ``deploy`` nor the handoff block needs CloudFormation to put
it in place (``cloudwatch.put_dashboard`` replaces the whole body, so each put converges).
A metric widget names its region, which the region-agnostic bundle does not know: the file
holds ``REGION_TOKEN``, which ``deploy`` and the handoff block replace with the stack's region.
"""

from __future__ import annotations

import json
from typing import Any

from . import metrics
from .stack import naming

#: Where the bundle's dashboard file has the region; replaced when the dashboard is put.
REGION_TOKEN = "__REGION__"
#: The bundle folder of the dashboards, one ``<env>.json`` each.
FOLDER = "dashboards"
#: Seconds per datapoint: the alarms' period, so the graphs show what the alarms see.
PERIOD = 300
_WIDTH, _HEIGHT = 12, 6

Metric = list[Any]


def path(environment: str) -> str:
    """The dashboard's file in the bundle."""
    return f"{FOLDER}/{environment}.json"


def dashboard_name(stack_name: str) -> str:
    """The dashboard's name: the stack's, so an ephemeral environment's is its own."""
    return stack_name


def _graph(title: str, series: list[Metric], region: str, **options: Any) -> dict[str, Any]:
    return {"type": "metric", "properties": {"title": title, "region": region, "metrics": series,
                                             "period": PERIOD, "view": "timeSeries", **options}}


def _search(query: str, stat: str, label: str) -> Metric:
    """A SEARCH expression as a graph's series: every series the query matches, now and later."""
    return [{"expression": f"SEARCH('{query}', '{stat}', {PERIOD})", "label": label, "id": label.lower()}]


def _deliveries(env: str, region: str) -> list[dict[str, Any]]:
    """Deliveries by outcome, and by outcome and reason (every reason the handler emits)."""
    by_outcome = [[metrics.NAMESPACE, metrics.DELIVERIES, metrics.ENVIRONMENT, env, metrics.OUTCOME, outcome,
                   {"stat": "Sum", "label": outcome}] for outcome in metrics.OUTCOMES]
    dimensions = ",".join((metrics.NAMESPACE, metrics.ENVIRONMENT, metrics.OUTCOME, metrics.REASON))
    query = f'{{{dimensions}}} {metrics.ENVIRONMENT}="{env}" MetricName="{metrics.DELIVERIES}"'
    by_reason = [_search(query, "Sum", "Reasons")]
    return [_graph("Deliveries by outcome", by_outcome, region, stacked=True),
            _graph("Deliveries by outcome and reason", by_reason, region)]


def _edge(env: str, region: str) -> list[dict[str, Any]]:
    """API Gateway's 4XX/5XX answers and its latency, p50 and p99."""
    api = ["ApiName", f"{naming.API}-{env}", "Stage", env]
    answers = [["AWS/ApiGateway", name, *api, {"stat": "Sum", "label": name}]
               for name in ("Count", "4XXError", "5XXError")]
    latency = [["AWS/ApiGateway", "Latency", *api, {"stat": p, "label": f"edge {p}"}] for p in ("p50", "p99")]
    own = [[metrics.NAMESPACE, metrics.LATENCY, metrics.ENVIRONMENT, env, {"stat": p, "label": f"function {p}"}]
           for p in ("p50", "p99")]
    return [_graph("Edge: requests, 4XX, 5XX", answers, region),
            _graph("Latency (ms): edge and the handler's own work", latency + own, region)]


def _function(env: str, region: str) -> list[dict[str, Any]]:
    """The function's concurrency, throttles and errors, and the live alias's traffic by version."""
    function = f"{naming.FUNCTION}-{env}"
    health = [["AWS/Lambda", "ConcurrentExecutions", "FunctionName", function, {"stat": "Maximum"}],
              ["AWS/Lambda", "Throttles", "FunctionName", function, {"stat": "Sum"}],
              ["AWS/Lambda", "Errors", "FunctionName", function, {"stat": "Sum"}]]
    alias = f"{function}:{naming.LIVE_ALIAS}"
    shift = [_search(f'{{AWS/Lambda,FunctionName,Resource,ExecutedVersion}} FunctionName="{function}" '
                     f'Resource="{alias}" MetricName="Invocations"', "Sum", "Versions")]
    return [_graph("Function: concurrency, throttles, errors", health, region),
            _graph(f"Traffic shift: invocations of {naming.LIVE_ALIAS} by version", shift, region, stacked=True)]


def _table(env: str, region: str) -> list[dict[str, Any]]:
    """The table's consumed capacity and throttled requests."""
    table = ["TableName", f"{naming.TABLE}-{env}"]
    capacity = [["AWS/DynamoDB", name, *table, {"stat": "Sum"}]
                for name in ("ConsumedWriteCapacityUnits", "ConsumedReadCapacityUnits")]
    throttles = [["AWS/DynamoDB", name, *table, {"stat": "Sum"}]
                 for name in ("WriteThrottleEvents", "ReadThrottleEvents")]
    return [_graph("Table: consumed capacity", capacity, region),
            _graph("Table: throttle events", throttles, region)]


def _placed(widgets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Two widgets a row, in order."""
    return [{**widget, "x": (i % 2) * _WIDTH, "y": (i // 2) * _HEIGHT, "width": _WIDTH, "height": _HEIGHT}
            for i, widget in enumerate(widgets)]


def body(environment: str, region: str = REGION_TOKEN) -> dict[str, Any]:
    """The dashboard of ``environment`` in ``region`` (the bundle's copy: ``REGION_TOKEN``)."""
    widgets = (_deliveries(environment, region) + _edge(environment, region) + _function(environment, region)
               + _table(environment, region))
    return {"start": "-PT3H", "periodOverride": "inherit", "widgets": _placed(widgets)}


def to_json(dashboard: dict[str, Any]) -> str:
    """The file's content (indented, so a reviewer reads its diff)."""
    return json.dumps(dashboard, indent=2) + "\n"


def for_region(content: str, region: str) -> str:
    """A bundle file's body with its region filled in, as ``put_dashboard`` takes it."""
    return content.replace(REGION_TOKEN, region)
