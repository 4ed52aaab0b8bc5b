"""Static properties of handler/app.py that the template and the Lambda runtime rely on."""
from __future__ import annotations

import ast
import re
import subprocess
import sys
import warnings
from decimal import Decimal

from support.handler_loader import APP, APP_PATH

SOURCE = APP_PATH.read_text(encoding="utf-8")


def test_inlined_code_fits_the_template_budget():
    # The template inlines this file with comments and docstrings stripped (ZipFile) and must
    # stay under CloudFormation's 51,200-byte template body limit; the rest of the template is
    # ~25 KB and the code grows ~5 % when JSON-escaped, so 23 KiB of inlined code leaves ~2.5 KB.
    # Comments and docstrings cost nothing here: write them; keep the code lean.
    from webhook_templates.stack.minify import inline_source

    assert len(inline_source(SOURCE).encode()) <= 23 * 1024  # 23,552 bytes


def test_public_constants_are_the_contract():
    assert APP.MAX_BODY_BYTES == 65536
    assert APP.TRANSACTION_ID_MAX_LENGTH == 128
    assert APP.TRANSACTION_ID_PATTERN == r"^[A-Za-z0-9][A-Za-z0-9._:-]*$"
    assert APP.STATUSES == ("pending", "completed", "failed", "refunded", "cancelled")
    assert APP.METADATA_MAX_BYTES == 8192
    assert APP.MAX_AMOUNT == Decimal("1e15") and isinstance(APP.MAX_AMOUNT, Decimal)
    assert APP.MAX_JSON_DEPTH == 8
    assert callable(APP.lambda_handler)


def test_transaction_id_pattern_is_ecmascript_compatible():
    """API Gateway models use JSON Schema (ECMA-262 regex): keep to the common subset."""
    assert re.fullmatch(r"\^\[[A-Za-z0-9._:\-\]\[]+\*\$", APP.TRANSACTION_ID_PATTERN)


def _currency_groups() -> list[tuple[int, str]]:
    tree = ast.parse(SOURCE)
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "CURRENCIES_BY_MINOR_UNIT":
            return sorted(ast.literal_eval(node.value).items())
    raise AssertionError("CURRENCIES_BY_MINOR_UNIT not found as a literal")


def test_currency_table():
    table = APP.CURRENCY_MINOR_UNITS
    codes = [c for _, s in _currency_groups() for c in s.split()]
    assert len(codes) == len(set(codes)) == len(table)  # no code listed twice
    for _, group in _currency_groups():
        assert group.split() == sorted(group.split())  # kept sorted, so reviews are easy
    assert all(re.fullmatch(r"[A-Z]{3}", c) for c in table)
    assert set(table.values()) == {0, 2, 3, 4}
    assert {c: table[c] for c in ("JPY", "USD", "EUR", "BHD", "KWD", "CLF", "KRW", "TND", "UYW")} == {
        "JPY": 0, "USD": 2, "EUR": 2, "BHD": 3, "KWD": 3, "CLF": 4, "KRW": 0, "TND": 3, "UYW": 4}
    for excluded in ("XAU", "XAG", "XPT", "XPD", "XTS", "XXX", "XDR", "XSU", "XUA", "XBA", "XBB", "XBC", "XBD",
                     "BOV", "CHE", "CHW", "COU", "MXV", "USN", "UYI", "HRK", "SLL", "ZWL", "VEF", "MRO", "STD",
                     "ANG", "CUC", "BGN"):
        assert excluded not in table
    assert 150 <= len(table) <= 170


def test_only_standard_library_and_boto3_imports():
    allowed = set(sys.stdlib_module_names) | {"boto3", "botocore"}
    for node in ast.walk(ast.parse(SOURCE)):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "no relative imports: the file is inlined alone"
            names = [node.module or ""]
        else:
            continue
        for name in names:
            assert name.split(".")[0] in allowed, name


def test_parses_as_python_3_11_without_warnings():
    ast.parse(SOURCE, feature_version=(3, 11))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        compile(SOURCE, str(APP_PATH), "exec")


def test_every_function_is_annotated():
    for node in ast.walk(ast.parse(SOURCE)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = node.args.args + node.args.kwonlyargs
            assert node.returns is not None, node.name
            assert all(a.annotation is not None for a in args if a.arg != "self"), node.name


def test_dynamodb_calls_in_source_are_only_the_iam_granted_ones():
    calls = set(re.findall(r"\.ddb\.(\w+)\(", SOURCE))
    assert calls == {"transact_write_items", "get_item", "describe_table"}


def test_module_imports_in_a_fresh_interpreter_without_aws_configuration(tmp_path):
    code = ("import importlib.util, sys; s = importlib.util.spec_from_file_location('index', sys.argv[1]);"
            "m = importlib.util.module_from_spec(s); s.loader.exec_module(m); print(m.MAX_BODY_BYTES)")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "AWS_CONFIG_FILE": str(tmp_path / "none"),
           "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"), "AWS_EC2_METADATA_DISABLED": "true"}
    out = subprocess.run([sys.executable, "-W", "error::DeprecationWarning", "-c", code, str(APP_PATH)],
                         capture_output=True, text=True, env=env, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "65536"


def test_entry_point_exists_and_nothing_test_only_ships():
    assert callable(APP.lambda_handler)
    names = [node.name for node in ast.walk(ast.parse(SOURCE)) if isinstance(node, (ast.FunctionDef, ast.ClassDef))]
    assert not [name for name in names if "test" in name.lower()]
