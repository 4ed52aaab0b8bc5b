"""Upgrading a stack deployed before the deliveries table existed, against moto's server.

The previous template is a fixture (``tests/fixtures/template-before-deliveries-table.json``, the
render of main before issue 19), handler included: deliver through *its* handler, upgrade with the
CLI's deploy (through the data guard), redeliver through the new one: still a duplicate.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from deploy_testkit import MOTO_SKIPS_TYPES, Result

from support.handler_loader import Sender, load_app, payload
from support.moto_patches import replacement_from_registry_schemas
from webhook_templates.stack import naming

pytestmark = pytest.mark.filterwarnings(MOTO_SKIPS_TYPES)

Clients = Callable[[str], Any]
Run = Callable[..., Result]
STACK = "webhook-staging"
PREVIOUS = Path(__file__).resolve().parents[1] / "fixtures" / "template-before-deliveries-table.json"


def _previous_handler(tmp_path: Path) -> types.ModuleType:
    """The handler the previous template inlines, imported as Lambda would: a cold container."""
    source = json.loads(PREVIOUS.read_text())["Resources"][naming.FUNCTION_ID]["Properties"]["Code"]["ZipFile"]
    path = tmp_path / "previous_index.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("previous_webhook_handler", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def function_environment(aws: Clients, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], dict[str, str]]]:
    """Puts the deployed function's environment into this process's, as Lambda would."""

    def apply() -> dict[str, str]:
        variables = aws("lambda").get_function_configuration(
            FunctionName="webhook-processor-staging")["Environment"]["Variables"]
        for name in ("TABLE_NAME", "DELIVERIES_TABLE_NAME", "DELIVERY_RETENTION_DAYS", "SIGNING_SECRET_ARN"):
            monkeypatch.delenv(name, raising=False)
        # moto creates no signing secret (and drops the variable naming it): the handlers take the
        # webhook-id unverified, which is what the markers are keyed on either way.
        monkeypatch.setenv("SIGNATURE_MODE", "none")
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        return dict(variables)

    yield apply
    sys.modules.pop("previous_webhook_handler", None)


def _outputs(aws: Clients) -> dict[str, str]:
    stack = aws("cloudformation").describe_stacks(StackName=STACK)["Stacks"][0]
    return {output["OutputKey"]: output["OutputValue"] for output in stack["Outputs"]}


def _table_items(aws: Clients, table: str) -> list[dict[str, Any]]:
    return aws("dynamodb").scan(TableName=table, ConsistentRead=True)["Items"]


def test_a_redelivery_straddling_the_upgrade_is_still_a_duplicate(
    aws: Clients, run: Run, tmp_path: Path, function_environment: Callable[[], dict[str, str]]
) -> None:
    assert run("deploy", "--env", "staging", "--yes", "--template", str(PREVIOUS)).code == 0
    before = function_environment()
    assert "DELIVERIES_TABLE_NAME" not in before  # the previous stack: markers in the transactions table
    sender = Sender()
    event = sender.event(payload(transactionId="straddle"), msg_id="msg_straddle")
    first = _previous_handler(tmp_path).lambda_handler(event, None)
    assert first["statusCode"] == 200
    table_arn = aws("dynamodb").describe_table(TableName="transactions-staging")["Table"]["TableArn"]

    with replacement_from_registry_schemas():  # what CloudFormation says: the table is modified in place
        upgraded = run("deploy", "--env", "staging", "--yes")

    assert upgraded.code == 0, upgraded.err + upgraded.out
    assert "Refused" not in upgraded.out + upgraded.err
    assert aws("dynamodb").describe_table(TableName="transactions-staging")["Table"]["TableArn"] == table_arn
    deliveries = aws("dynamodb").describe_table(TableName="webhook-deliveries-staging")["Table"]
    assert deliveries["KeySchema"] == [{"AttributeName": "deliveryId", "KeyType": "HASH"}]
    ttl = aws("dynamodb").describe_time_to_live(TableName="webhook-deliveries-staging")["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expiresAt"}
    after = function_environment()
    assert after["DELIVERIES_TABLE_NAME"] == "webhook-deliveries-staging"

    new_handler = load_app()
    try:
        again = new_handler.lambda_handler(Sender().event(
            payload(transactionId="straddle"), msg_id="msg_straddle"), None)
        fresh = new_handler.lambda_handler(Sender().event(payload(transactionId="new")), None)
    finally:
        sys.modules.pop(new_handler.__name__, None)

    assert (again["statusCode"], again["body"]) == (200, first["body"])
    transactions = [item for item in _table_items(aws, "transactions-staging")
                    if item["recordType"]["S"] == "transaction"]
    assert sorted(item["transactionId"]["S"] for item in transactions) == ["new", "straddle"]
    # the new delivery's marker is in the deliveries table, expiring; none was added beside the transactions
    [marker] = _table_items(aws, "webhook-deliveries-staging")
    assert marker["response"]["S"] == fresh["body"] and "expiresAt" in marker
    assert len(_table_items(aws, "transactions-staging")) == 3  # two transactions, the old marker


def test_with_the_stream_the_table_streams_new_images_and_its_arn_is_an_output(aws: Clients, run: Run) -> None:
    """On a first deploy: moto's change set lists no change for a parameter that reaches the
    table only through a condition (CloudFormation modifies it in place), so turning the stream
    on later is checked on the template (tests/stack) only."""
    streamed = run("deploy", "--env", "staging", "--yes", "--parameter-overrides", "TransactionStream=true")

    assert streamed.code == 0, streamed.err + streamed.out
    table = aws("dynamodb").describe_table(TableName="transactions-staging")["Table"]
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    assert _outputs(aws)["TransactionStreamArn"] == table["LatestStreamArn"]
    assert "StreamSpecification" not in aws("dynamodb").describe_table(TableName="webhook-deliveries-staging")["Table"]


def test_without_the_stream_there_is_no_stream_output(aws: Clients, run: Run) -> None:
    assert run("deploy", "--env", "staging", "--yes").code == 0
    assert "TransactionStreamArn" not in _outputs(aws)
    assert "LatestStreamArn" not in aws("dynamodb").describe_table(TableName="transactions-staging")["Table"]
