"""HANDOFF's sender contract and cost table, and ``webhook-templates verify``."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest

from support.environments import SHIPPED as ENVIRONMENTS
from webhook_templates import cli
from webhook_templates.handoff import cost, sender_contract
from webhook_templates.handoff.bundle import write_bundle
from webhook_templates.handoff.render import RenderedFile, template_dict
from webhook_templates.stack.handler_artifact import HandlerArtifact


def section(handoff: str, title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", handoff, re.M | re.S)
    assert match, f"HANDOFF.md has no section {title!r}"
    return match.group(1)


def test_every_limit_of_the_handler_is_in_the_contract(handoff: str, handler_artifact: HandlerArtifact) -> None:
    contract = section(handoff, "The request senders make")
    limits = handler_artifact.limits
    assert f"at most {limits.metadata_max_bytes:,} bytes" in contract
    assert f"nested at most {limits.max_json_depth} levels deep" in contract
    assert f"at most {limits.max_body_bytes:,} bytes" in contract
    assert f"1 to {limits.transaction_id_max_length} characters" in contract
    assert f"at most {limits.tolerance_seconds} s" in contract
    rows = dict(re.findall(r"^\| (\d) \| ([A-Z ]+) \|$", contract, re.M))
    assert "JPY" in rows["0"].split() and "KWD" in rows["3"].split() and "USD" in rows["2"].split()
    assert sum(len(codes.split()) for codes in rows.values()) == len(limits.currency_minor_units)
    for status in limits.statuses:
        assert f"| `{status}` | {sender_contract.in_words(status)} |" in contract


def test_every_error_code_of_the_handler_is_in_the_contract_with_its_status(
    handoff: str, handler_artifact: HandlerArtifact
) -> None:
    contract = section(handoff, "The request senders make")
    errors = sender_contract.handler_errors(handler_artifact.source)
    codes = {error.code for error in errors}
    assert {"invalid_json", "validation_failed", "signature_mismatch", "timestamp_out_of_tolerance",
            "payload_too_large", "service_unavailable", "internal_error", "method_not_allowed"} <= codes
    for error in errors:
        assert f"| {error.status} | `{error.code}` |" in contract
    # Every Reject(...) code in the handler's source is found (none is left out by the reader).
    assert codes >= set(re.findall(r'Reject\(\d+, "(\w+)"', handler_artifact.source))


def test_a_status_without_words_is_an_error() -> None:
    with pytest.raises(KeyError, match="add it to sender_contract.STATUS_WORDS"):
        sender_contract.in_words("disputed")


def test_the_cost_table_follows_each_environments_memory(handoff: str) -> None:
    table = section(handoff, "What a million webhooks cost")
    assert f"as of {cost.PRICES_AS_OF}" in table
    for config in ENVIRONMENTS.values():
        lines = cost.per_million(config)
        duration = next(line for line in lines if line.item.startswith("Lambda duration"))
        gb_seconds = 1_000_000 * cost.ASSUMED_DURATION_MS / 1000 * config.memory_mb / 1024
        assert duration.usd == pytest.approx(gb_seconds * cost.LAMBDA_ARM64_PER_GB_SECOND)
        writes = next(line for line in lines if line.item.startswith("DynamoDB writes"))
        assert writes.usd == pytest.approx(4 * cost.DYNAMODB_WRITE_UNITS_PER_MILLION)
        total = sum(line.usd for line in lines)
        assert f"**{total:,.2f}**" in table
    # prod runs with more memory than dev, so its duration costs more.
    assert ENVIRONMENTS["prod"].memory_mb > ENVIRONMENTS["dev"].memory_mb
    assert sum(line.usd for line in cost.per_million(ENVIRONMENTS["prod"])) > sum(
        line.usd for line in cost.per_million(ENVIRONMENTS["dev"]))


def test_provisioned_concurrency_is_a_monthly_cost_whatever_the_traffic() -> None:
    """Billed per GB-second while configured, used or not: 1 at 512 MB for 730 hours."""
    prod = ENVIRONMENTS["prod"]
    assert prod.provisioned_concurrency == 0 and cost.provisioned_per_month(prod) == 0
    warm = dataclasses.replace(prod, provisioned_concurrency=2)
    expected = 2 * 512 / 1024 * 730 * 3600 * cost.LAMBDA_ARM64_PROVISIONED_PER_GB_SECOND
    assert cost.provisioned_per_month(warm) == pytest.approx(expected) == pytest.approx(8.76, abs=0.01)
    assert cost.monthly_fixed(warm) == pytest.approx(cost.monthly_fixed(prod) + expected)
    (row,) = [row for row in cost.cost_rows({"prod": prod, "warm": warm})[1] if row[0].startswith("Each month")]
    assert row[2:] == [f"{cost.monthly_fixed(prod):,.2f}", f"{cost.monthly_fixed(warm):,.2f}"]
    assert "provisioned concurrency" in row[1]


def test_marker_storage_follows_the_retention_and_writes_stay_four_units(handoff: str) -> None:
    dev = ENVIRONMENTS["dev"]
    longer = dataclasses.replace(dev, delivery_retention_days=dev.delivery_retention_days * 2)
    assert cost.marker_storage(longer).usd == pytest.approx(2 * cost.marker_storage(dev).usd)
    assert f"x {dev.delivery_retention_days} days" in cost.marker_storage(dev).basis
    (writes,) = [line for line in cost.per_million(dev) if line.item.startswith("DynamoDB writes")]
    assert writes.basis.startswith("4 WRU per delivery") and "6 in the upgrade window" in writes.basis
    assert "DynamoDB storage (delivery markers)" in handoff


def test_verify_names_each_changed_missing_and_added_file(
    tmp_path: Path, files: dict[str, RenderedFile], capsys: pytest.CaptureFixture[str]
) -> None:
    write_bundle(list(files.values()), tmp_path)
    assert cli.main(["verify", str(tmp_path)]) == 0
    assert "every file matches manifest.json" in capsys.readouterr().out

    (tmp_path / "stack-policy.json").write_text("{}")
    (tmp_path / "guard-check.py").unlink()
    (tmp_path / "notes.txt").write_text("mine")
    code = cli.main(["verify", str(tmp_path)])

    err = capsys.readouterr().err.splitlines()
    assert code == 1
    assert err[0].startswith("stack-policy.json: expected sha256")
    assert "guard-check.py: missing" in err
    assert "notes.txt: added (not in manifest.json)" in err
    assert err[-1].endswith("does not match its manifest.json (3 problems)")


def test_handoff_tells_the_receiver_how_to_verify(handoff: str) -> None:
    files = section(handoff, "Files in this bundle")
    assert "webhook-templates verify <this folder>" in files
    assert "sha256sum -c -" in files


def test_handoff_lists_the_first_deploy_prerequisites(handoff: str) -> None:
    deploying = section(handoff, "Deploying")
    assert "### Before the first deploy" in deploying
    assert "aws apigateway get-account --query cloudwatchRoleArn --output text" in deploying
    assert "aws cloudformation deploy --template-file account-setup.json" in deploying


def test_the_contract_says_which_answers_to_retry(handoff: str, handler_artifact: HandlerArtifact,
                                                  template: Any) -> None:
    contract = section(handoff, "The request senders make")
    retry = contract.split("### Which answers to retry\n", 1)[1].split("\n### ", 1)[0]
    errors = sender_contract.handler_errors(handler_artifact.source)
    answered = sender_contract.answered_statuses(errors, template_dict(template))
    rows = dict(re.findall(r"^\| (\d{3}) \| [^|]+ \| (retry[^|]*|do not retry[^|]*) \|", retry, re.M))
    assert set(map(int, rows)) == set(answered) - {200}
    for status, advice in rows.items():
        expected = int(status) == 429 or int(status) >= 500
        assert advice.startswith("retry") == expected, (status, advice)
    assert rows["503"].startswith("retry after `Retry-After`")
    assert "No path answers 410" in retry and "| 410 |" not in retry


def _emf_members(environment: str) -> dict[str, Any]:
    """What the EMF adds to a processed delivery's log line, as the handler writes it."""
    from webhook_templates import metrics
    return {"reason": "processed", "environment": environment, "deliveries": 1,
            "_aws": {"Timestamp": 1_700_000_000_000, "CloudWatchMetrics": metrics.emf_directives()}}


def test_the_log_bytes_count_the_emf_members_per_environment() -> None:
    import json
    for name, config in ENVIRONMENTS.items():
        # Lambda's JSON formatter writes members with ", " and ": " (json.dumps' defaults).
        added = len(json.dumps(_emf_members(name))) - len("{}") + len(", ")
        assert cost.emf_bytes(config) == added
        (logs,) = [line for line in cost.per_million(config) if line.item == "CloudWatch Logs ingestion"]
        total = cost.ASSUMED_FUNCTION_LOG_BYTES + added + cost.ASSUMED_ACCESS_LOG_BYTES
        assert f"{total:,} bytes per delivery" in logs.basis and f"{added:,} of EMF" in logs.basis
        assert logs.usd == pytest.approx(1_000_000 * total / 1024**3 * cost.LOG_INGESTION_PER_GB)
    assert cost.emf_bytes(ENVIRONMENTS["staging"]) - cost.emf_bytes(ENVIRONMENTS["dev"]) == len("staging") - len("dev")


def test_custom_metrics_count_each_name_and_dimension_set(handler_artifact: HandlerArtifact) -> None:
    errors = sender_contract.handler_errors(handler_artifact.source)
    refusals = [e for e in errors if e.status < 500]
    failures = [e for e in errors if e.status >= 500]
    # deliveries by outcome (4), by outcome and reason (processed, duplicate, and each error
    # code under rejected or failed), latencyMs by environment (1).
    expected = 4 + 2 + len(refusals) + len(failures) + 1
    assert cost.custom_metrics(errors) == expected == 20
    assert cost.custom_metrics(errors[:1]) == 4 + 2 + 1 + 1  # the count follows the handler's codes
    headers, rows = cost.cost_rows(ENVIRONMENTS, errors)
    (row,) = [row for row in rows if row[0].startswith("Custom metrics")]
    assert f"{expected} metrics" in row[1]
    assert row[2:] == [f"{expected * cost.CUSTOM_METRIC_PER_MONTH:,.2f}"] * len(ENVIRONMENTS)


def test_the_handoff_cost_table_has_the_custom_metrics(handoff: str) -> None:
    table = section(handoff, "What a million webhooks cost")
    assert "| Custom metrics each month" in table and "of EMF" in table
