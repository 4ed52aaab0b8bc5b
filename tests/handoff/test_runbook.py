"""HANDOFF's runbook: one entry per alarm in the template, its commands derived from the alarm itself."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest
from test_contract_cost_verify import section
from test_shellcheck import sh_blocks

from webhook_templates import metrics
from webhook_templates.handoff import runbook, sender_contract
from webhook_templates.handoff.render import template_dict
from webhook_templates.stack.handler_artifact import HandlerArtifact

TITLE = "Runbook: what each alarm means and what to do"
#: The heredoc each block's ``get-metric-data`` reads its queries from.
_QUERIES = re.compile(r"^QUERIES=\$\(cat <<EOF\n(.*?)\nEOF\n\)$", re.M | re.S)


def _alarm_ids(body: dict[str, Any]) -> list[str]:
    return [k for k, v in body["Resources"].items() if v["Type"] == "AWS::CloudWatch::Alarm"]


def _subsection(text: str, heading: str) -> str:
    return text.split(f"### {heading}\n", 1)[1].split("\n### ", 1)[0]


def _queries(block: str) -> list[dict[str, Any]]:
    """The block's metric data queries, as the shell would expand them for staging."""
    (found,) = _QUERIES.findall(block)
    expanded = found.replace("$ENV", "staging").replace("$FUNCTION", "webhook-processor-staging")
    queries: list[dict[str, Any]] = json.loads(expanded)
    return queries


@pytest.fixture(scope="module")
def errors(handler_artifact: HandlerArtifact) -> list[sender_contract.HandlerError]:
    return sender_contract.handler_errors(handler_artifact.source)


def test_every_alarm_of_the_template_has_an_entry(template: Any, errors: list[sender_contract.HandlerError]) -> None:
    body = template_dict(template)
    assert set(metrics.ALARM_IDS) <= set(_alarm_ids(body))
    assert [entry["id"] for entry in runbook.facts(body, errors)["alarms"]] == _alarm_ids(body)


def test_a_new_alarm_without_an_entry_fails(template: Any, errors: list[sender_contract.HandlerError]) -> None:
    body = copy.deepcopy(template_dict(template))
    body["Resources"]["QueueDepthAlarm"] = copy.deepcopy(body["Resources"][metrics.FUNCTION_ERRORS_ALARM_ID])
    with pytest.raises(KeyError, match="QueueDepthAlarm.*runbook.ENTRIES"):
        runbook.facts(body, errors)


def test_an_entry_for_an_alarm_the_template_lacks_fails(template: Any,
                                                        errors: list[sender_contract.HandlerError]) -> None:
    body = copy.deepcopy(template_dict(template))
    del body["Resources"][metrics.API_LATENCY_ALARM_ID]
    with pytest.raises(KeyError, match="ApiLatencyP99Alarm"):
        runbook.facts(body, errors)


def test_the_runbook_follows_the_releases_and_permissions(handoff: str) -> None:
    order = [handoff.index(f"\n## {title}") for title in (
        "Releases: canary and automatic rollback", "IAM permissions, in plain words", TITLE)]
    assert order == sorted(order)


def test_each_alarm_says_what_it_means_its_causes_first_commands_and_recovery(handoff: str, template: Any) -> None:
    text = section(handoff, TITLE)
    assert 'webhook-templates status --env "$ENV"' in text
    for alarm_id in _alarm_ids(template_dict(template)):
        entry = _subsection(text, f"`{metrics.alarm_suffix(alarm_id)}`")
        for part in ("**What it means.**", "**Likely causes.**", "**First commands.**", "**Recovery.**"):
            assert part in entry, (alarm_id, part)
        [(_, block)] = sh_blocks(entry)
        assert 'FUNCTION="webhook-processor-$ENV"' in block
        assert 'aws logs start-query --log-group-name "/aws/lambda/$FUNCTION"' in block
        assert "aws logs get-query-results" in block
        assert "aws cloudwatch get-metric-data" in block
        # Every function-log query breaks the lines down by the handler's reason code.
        queries = re.findall(r"--query-string '([^']*)'", block)
        assert queries and f"by {metrics.REASON}" in queries[0], alarm_id


def _watched(alarm: dict[str, Any]) -> list[tuple[str, str, list[str], str]]:
    """(namespace, metric, dimension names, stat) of every metric the alarm reads."""
    if "Metrics" in alarm:
        stats = [q["MetricStat"] for q in alarm["Metrics"] if "MetricStat" in q]
    else:
        stats = [{"Metric": alarm, "Stat": alarm.get("Statistic") or alarm["ExtendedStatistic"]}]
    return [(s["Metric"]["Namespace"], s["Metric"]["MetricName"], [d["Name"] for d in s["Metric"]["Dimensions"]],
             s["Stat"]) for s in stats]


def test_get_metric_data_reads_each_alarms_metric(handoff: str, template: Any) -> None:
    resources = template_dict(template)["Resources"]
    text = section(handoff, TITLE)
    for alarm_id in _alarm_ids(template_dict(template)):
        [(_, block)] = sh_blocks(_subsection(text, f"`{metrics.alarm_suffix(alarm_id)}`"))
        queries = _queries(block)
        read = [(q["MetricStat"]["Metric"]["Namespace"], q["MetricStat"]["Metric"]["MetricName"],
                 [d["Name"] for d in q["MetricStat"]["Metric"]["Dimensions"]], q["MetricStat"]["Stat"])
                for q in queries if "MetricStat" in q]
        assert read == _watched(resources[alarm_id]["Properties"]), alarm_id
        for query in queries:
            for dimension in query.get("MetricStat", {}).get("Metric", {}).get("Dimensions", []):
                assert dimension["Value"] in ("staging", "webhook-processor-staging", "webhook-api-staging",
                                              metrics.REJECTED), (alarm_id, dimension)


def test_the_refusal_query_uses_the_handlers_metric_as_metrics_py_names_it(handoff: str) -> None:
    entry = _subsection(section(handoff, TITLE), f"`{metrics.alarm_suffix(metrics.REFUSALS_ALARM_ID)}`")
    [(_, block)] = sh_blocks(entry)
    [query] = _queries(block)
    metric = query["MetricStat"]["Metric"]
    assert (metric["Namespace"], metric["MetricName"]) == (metrics.NAMESPACE, metrics.DELIVERIES)
    assert tuple(d["Name"] for d in metric["Dimensions"]) in metrics.DELIVERY_DIMENSIONS
    assert {d["Name"]: d["Value"] for d in metric["Dimensions"]} == {
        metrics.ENVIRONMENT: "staging", metrics.OUTCOME: metrics.REJECTED}


def test_the_edge_share_query_resolves_the_minimum_request_count(handoff: str) -> None:
    entry = _subsection(section(handoff, TITLE), f"`{metrics.alarm_suffix(metrics.API_4XX_ALARM_ID)}`")
    [(_, block)] = sh_blocks(entry)
    assert re.search(r"^Edge4xxAlarmMinRequests=20 ", block, re.M)  # staging's, from environments.toml
    [expression] = [q["Expression"] for q in _queries(block) if "Expression" in q]
    # The alarm's own expression, its parameter a shell variable the heredoc expands.
    assert expression == "IF(n>=${Edge4xxAlarmMinRequests},100*e/n,0)"
    assert "${AWS::" not in block


def test_a_secret_mismatch_has_the_rotation_overlap_and_redelivery(handoff: str,
                                                                   errors: list[sender_contract.HandlerError]) -> None:
    text = _subsection(section(handoff, TITLE), "A sender's signing secret no longer matches ours")
    signature_codes = [e.code for e in errors if e.status == 401]
    assert {"signature_mismatch", "timestamp_out_of_tolerance"} <= set(signature_codes)
    for code in signature_codes:
        assert f"`{code}`" in text and f'"{code}"' in text, code
    assert '{"current": ' in text and '"previous": ' in text
    assert "webhook-id" in text and "idempotent" in text and "redeliver" in text
    [(_, block)] = sh_blocks(text)
    assert "put-secret-value" in block and "file:///dev/stdin" in block  # the key never on a command line


def test_validation_refusals_name_the_handlers_codes(handoff: str, errors: list[sender_contract.HandlerError]) -> None:
    entry = _subsection(section(handoff, TITLE), f"`{metrics.alarm_suffix(metrics.REFUSALS_ALARM_ID)}`")
    for error in errors:
        if 400 <= error.status < 500:
            assert f"`{error.code}`" in entry, error.code
