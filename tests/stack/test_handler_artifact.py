"""The handler artifact: its limits read from the source without running it, and a pure template."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from webhook_templates.handoff.render import to_json
from webhook_templates.stack.handler_artifact import (
    CHECKOUT_HANDLER_PATH,
    HandlerArtifact,
    HandlerUnavailable,
    read_limits,
)
from webhook_templates.stack.template import build_template

LIMITS_SOURCE = '''
from decimal import Decimal
MAX_BODY_BYTES = 1024
TRANSACTION_ID_MAX_LENGTH = 16
TRANSACTION_ID_PATTERN = r"^[a-z]+$"
STATUSES: tuple[str, ...] = ("pending", "done")
METADATA_MAX_BYTES = 64
MAX_AMOUNT = Decimal("1e6")
MAX_JSON_DEPTH = 3
TOLERANCE_SECONDS = 60
CURRENCIES_BY_MINOR_UNIT = {0: "JPY", 2: "EUR USD"}
raise SystemExit("executed")  # reading the limits must never run the module
'''


def test_limits_are_read_without_running_the_module() -> None:
    limits = read_limits(LIMITS_SOURCE)
    assert limits.max_body_bytes == 1024
    assert limits.transaction_id_pattern == "^[a-z]+$"
    assert limits.statuses == ("pending", "done")
    assert limits.max_amount == Decimal("1e6") and isinstance(limits.max_amount, Decimal)
    assert dict(limits.currency_minor_units) == {"EUR": 2, "JPY": 0, "USD": 2}


def test_the_checkout_handlers_limits_are_the_ones_it_runs_with(handler_artifact: HandlerArtifact) -> None:
    """What ``ast`` reads is what the handler module holds once imported (the import is the test's, not render's)."""
    spec = importlib.util.spec_from_file_location("webhook_handler_for_limits_test", CHECKOUT_HANDLER_PATH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    limits = handler_artifact.limits
    assert limits.max_body_bytes == module.MAX_BODY_BYTES
    assert limits.transaction_id_max_length == module.TRANSACTION_ID_MAX_LENGTH
    assert limits.transaction_id_pattern == module.TRANSACTION_ID_PATTERN
    assert limits.statuses == tuple(module.STATUSES)
    assert limits.metadata_max_bytes == module.METADATA_MAX_BYTES
    assert limits.max_amount == module.MAX_AMOUNT
    assert limits.max_json_depth == module.MAX_JSON_DEPTH
    assert limits.tolerance_seconds == module.TOLERANCE_SECONDS
    assert dict(limits.currency_minor_units) == module.CURRENCY_MINOR_UNITS


@pytest.mark.parametrize(("change", "message"), [
    (("MAX_BODY_BYTES = 1024", ""), "no module-level MAX_BODY_BYTES"),
    (("MAX_BODY_BYTES = 1024", "MAX_BODY_BYTES = 2 ** 10"), "MAX_BODY_BYTES must be a literal"),
    (('MAX_AMOUNT = Decimal("1e6")', "MAX_AMOUNT = Decimal(10 ** 6)"), "MAX_AMOUNT must be a literal"),
    (("MAX_JSON_DEPTH = 3", "MAX_JSON_DEPTH = True"), "MAX_JSON_DEPTH is bool; accepted: int"),
    (('STATUSES: tuple[str, ...] = ("pending", "done")', 'STATUSES = "pending"'), "STATUSES is str; accepted: tuple"),
    (('{0: "JPY", 2: "EUR USD"}', '{"0": "JPY"}'), "CURRENCIES_BY_MINOR_UNIT must map digits"),
    (("MAX_JSON_DEPTH = 3", "MAX_JSON_DEPTH = ("), "not valid Python"),
])
def test_a_limit_that_breaks_the_contract_is_named(change: tuple[str, str], message: str) -> None:
    with pytest.raises(HandlerUnavailable, match=message.replace("(", r"\(")) as error:
        read_limits(LIMITS_SOURCE.replace(*change), "app.py")
    assert str(error.value).startswith("app.py: ")


def test_a_missing_handler_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(HandlerUnavailable, match="cannot read the handler at .*missing.py .*WEBHOOK_HANDLER_PATH"):
        HandlerArtifact.from_path(tmp_path / "missing.py")


def test_the_template_depends_on_its_arguments_only(
    handler_artifact: HandlerArtifact, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The environment no longer chooses the handler inside ``build_template``; the artifact does."""
    before = to_json(build_template(handler_artifact))
    other = tmp_path / "app.py"
    other.write_text(handler_artifact.source.replace("MAX_BODY_BYTES = 65536", "MAX_BODY_BYTES = 1024"))
    monkeypatch.setenv("WEBHOOK_HANDLER_PATH", str(other))
    assert to_json(build_template(handler_artifact)) == before
    changed = to_json(build_template(HandlerArtifact.from_path(other)))
    assert changed != before


#: Runs the console script's entry point, then reports every module the process holds.
RUNNER = """
import json, sys
from webhook_templates.cli import main
code = main(["render", "--out", sys.argv[1]])
print(json.dumps({name: getattr(module, "__file__", None) for name, module in sys.modules.items()}))
sys.exit(code)
"""


def test_render_imports_neither_boto3_nor_the_handler(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-c", RUNNER, str(tmp_path)],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    modules: dict[str, str | None] = json.loads(result.stdout.splitlines()[-1])
    assert "webhook_templates.stack.template" in modules  # it did build the template
    heavy = sorted(name for name in modules if name.split(".")[0] in {"boto3", "botocore", "s3transfer", "moto"})
    assert heavy == []
    handler = str(CHECKOUT_HANDLER_PATH)
    assert [name for name, path in modules.items() if path == handler] == []
