"""The function, its role and the policies: least privilege, spelled out."""

from __future__ import annotations

import ast
import functools
import io
import json
import shutil
import subprocess
import sys
import tokenize
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore
import botocore.session
import pytest
from template_helpers import PSEUDO, allowed, as_list, of_type, props, resolve
from troposphere import Template

from webhook_templates.config import RUNTIMES
from webhook_templates.handoff.document import role_statements
from webhook_templates.handoff.render import to_json
from webhook_templates.stack import minify, naming
from webhook_templates.stack.handler_artifact import HandlerArtifact
from webhook_templates.stack.minify import inline_source


def test_function_keeps_old_name_and_runs_python_on_arm(resources: dict[str, Any]) -> None:
    function = props(resources, naming.FUNCTION_ID)
    assert function["FunctionName"] == {"Fn::Sub": "webhook-processor-${Environment}"}
    assert function["Runtime"] == {"Ref": "LambdaRuntime"}
    assert function["Architectures"] == ["arm64"]
    assert function["Handler"] == "index.lambda_handler"
    assert function["MemorySize"] == {"Ref": "LambdaMemorySize"}
    assert function["Timeout"] == {"Ref": "LambdaTimeout"}


def test_function_is_traced_logs_json_and_encrypts_its_environment(resources: dict[str, Any]) -> None:
    function = props(resources, naming.FUNCTION_ID)
    assert function["TracingConfig"] == {"Mode": "Active"}
    assert function["LoggingConfig"]["LogFormat"] == "JSON"
    assert function["LoggingConfig"]["LogGroup"] == {"Ref": naming.FUNCTION_LOG_GROUP_ID}
    assert function["KmsKeyArn"] == {"Fn::GetAtt": [naming.KEY_ID, "Arn"]}


def test_environment_holds_names_and_arns_but_no_secret(resources: dict[str, Any]) -> None:
    variables = props(resources, naming.FUNCTION_ID)["Environment"]["Variables"]
    assert variables == {
        "TABLE_NAME": {"Ref": naming.TABLE_ID},
        "DELIVERIES_TABLE_NAME": {"Ref": naming.DELIVERIES_TABLE_ID},
        "DELIVERY_RETENTION_DAYS": {"Ref": "DeliveryRetentionDays"},
        "SIGNING_SECRET_ARN": {"Fn::If": ["CreateSigningSecret", {"Ref": naming.SECRET_ID},
                                          {"Ref": "SigningSecretArn"}]},
        "ENVIRONMENT": {"Ref": "Environment"},  # the delivery metrics' dimension
    }
    # The old stack shipped a plaintext secret; verification must never be switched off in a template.
    assert "SIGNATURE_MODE" not in variables


def test_reserved_concurrency_only_when_configured(resources: dict[str, Any]) -> None:
    function = props(resources, naming.FUNCTION_ID)
    assert function["ReservedConcurrentExecutions"] == {
        "Fn::If": ["HasReservedConcurrency", {"Ref": "ReservedConcurrency"}, {"Ref": "AWS::NoValue"}]
    }


def test_code_is_the_handler_inlined_on_the_same_lines(
    resources: dict[str, Any], handler_artifact: HandlerArtifact
) -> None:
    code = props(resources, naming.FUNCTION_ID)["Code"]["ZipFile"]
    source = handler_artifact.source
    assert code == inline_source(source)
    assert code.count("\n") == source.count("\n") + (0 if source.endswith("\n") else 1)
    assert "def lambda_handler(" in code
    compile(code, "index.py", "exec")


def test_inline_source_drops_comments_and_docstrings_only() -> None:
    source = (
        '"""Module doc."""\n'
        "import json  # why\n"
        "def f(x):\n"
        '    """Doc\n    spanning lines."""\n'
        "    return json.dumps({'#': x})  # a comment\n"
    )
    source += "\"-\".join(['a', 'b'])  # not a docstring: more follows the string\n"
    source += "class Refused(Exception):\n    \"\"\"Only a docstring: its block needs a statement.\"\"\"\n"
    source += "def g():\n    \"\"\"Also the block's only statement.\"\"\"\n# a comment\n\n"
    inlined = inline_source(source)
    # A docstring goes entirely where its block goes on; as a block's only statement it leaves ''.
    assert inlined.splitlines() == ["", "import json", "def f(x):", "", "", " return json.dumps({'#':x})",
                                    "'-'.join(['a','b'])", "class Refused(Exception):", " ''", "def g():", " ''",
                                    "", ""]
    namespace: dict[str, Any] = {}
    exec(compile(inlined, "index.py", "exec"), namespace)
    assert namespace["f"](1) == '{"#": 1}'
    assert namespace["g"]() is None and issubclass(namespace["Refused"], Exception)


def test_inline_source_reindents_blocks_but_keeps_strings_and_behaviour() -> None:
    source = (
        "def f(x):\n"
        "    if x:\n"
        '        y = f"""a\n    {x}\n  b"""\n'
        "        z = (1,\n"
        "                2)\n"
        "        w = 1 + \\\n"
        "            2\n"
        "        return y, z, w\n"
        '    return f"{x!r:>{3}}"\n'
    )
    inlined = inline_source(source)
    assert inlined.splitlines() == [
        "def f(x):", " if x:", '  y=f"""a', "    {x}", '  b"""', "  z=(1,", " 2)", "  w=1+ \\", " 2",
        "  return y,z,w", ' return f"{x!r:>{3}}"',
    ]
    original: dict[str, Any] = {}
    exec(compile(source, "a.py", "exec"), original)
    namespace: dict[str, Any] = {}
    exec(compile(inlined, "index.py", "exec"), namespace)
    assert namespace["f"](7) == original["f"](7) and namespace["f"](0) == original["f"](0)


def test_inline_source_single_quotes_plain_literals_only() -> None:
    """JSON escapes each double quote of the inlined code; the strings' values never change."""
    source = 'a = "x"\nb = "it\'s"\nc = f"{a}"\nd = "\\n"\ne = b"y"\nf = """z"""\n'
    inlined = inline_source(source)
    assert inlined.splitlines() == ["a='x'", 'b="it\'s"', 'c=f"{a}"', 'd="\\n"', "e=b'y'", 'f="""z"""']
    original: dict[str, Any] = {}
    exec(source, original)
    namespace: dict[str, Any] = {}
    exec(inlined, namespace)
    assert [namespace[k] for k in "abcdef"] == [original[k] for k in "abcdef"]


def test_inline_source_drops_hints_only_where_they_are_never_evaluated() -> None:
    body = (
        "def f(x: int, *a: str, y: dict[str, int] | None = None, **k: object) -> list[int]:\n"
        "    z: int = x + 1\n"
        "    self_hint: 'str'\n"
        "    return [z, len(a), len(k)]\n"
        "def g(x: int,\n"
        "      y: int = 2) -> (\n"
        "        int):\n"
        "    return x + y\n"
    )
    inlined = inline_source("from __future__ import annotations\n" + body)
    assert inlined.splitlines()[1:] == [
        "def f(x,*a,y=None,**k):", " z=x+1", " self_hint:'str'", " return[z,len(a),len(k)]",
        "def g(x,", " y=2)->(", " int):", " return x+y",
    ]
    namespace: dict[str, Any] = {}
    exec(inlined, namespace)
    assert namespace["f"](1, "a", q=1) == [2, 1, 1] and namespace["g"](1) == 3
    # Without the future import, hints are evaluated at definition time: they stay.
    assert inline_source(body).splitlines()[0] == "def f(x:int,*a:str,y:dict[str,int]|None=None,**k:object)->list[int]:"


#: (source, its inlined form): each has a space Python does not need, and some a space it does.
SPACING = [
    ("a = b", "a=b"),
    ("f(x, y)", "f(x,y)"),
    ('{"k": v}', "{'k':v}"),
    ("x == 1", "x==1"),
    ("def f(x):\n    return  x", "def f(x):\n return x"),  # words keep one space
    ("r = x if y else z", "r=x if y else z"),
    ("r = a not in b", "r=a not in b"),
    ("g = lambda x: x", "g=lambda x:x"),
    ("r = 1 if y else 2", "r=1 if y else 2"),
    ("r = 0x1f or é", "r=0x1f or é"),  # a number's letters, a non-ASCII name
    ("r = y or rb'z' or f'{ y }'", "r=y or rb'z'or f'{ y }'"),  # a string prefix is a word
    ("r = y or 'z' and x", "r=y or'z'and x"),  # a quote is not
    ('s = f"{x + 1:>{w}} { y } {x!r}"', 's=f"{x + 1:>{w}} { y } {x!r}"'),  # an f-string's inside is its own
    ("s = f'{ f\"{ x }\" }' if y else f'{x = }'", "s=f'{ f\"{ x }\" }'if y else f'{x = }'"),
    ('s = f\'{d["k"]}\' + "x"', "s=f'{d[\"k\"]}'+'x'"),  # 3.12+ tokenizes "k": it is the f-string's still
    ('c = [b" x", b" y "]', "c=[b' x',b' y ']"),
    ("s = '' ''", "s='' ''"),  # four quotes would open a triple-quoted string
    ("print( -1 )", "print(-1)"),
    ("x = -y", "x=-y"),
    ("r = a ** -b", "r=a**-b"),
    ("r = a < -b", "r=a<-b"),
    ("r = 1 .real + 1.5 .imag", "r=1 .real+1.5 .imag"),  # 1.real would be the number 1. and a name
    ("if x :\n    pass\nelif y :\n    pass\nelse :\n    pass", "if x:\n pass\nelif y:\n pass\nelse:\n pass"),
    ("@ functools.lru_cache(maxsize = 2)\ndef f() -> None : ...", "@functools.lru_cache(maxsize=2)\ndef f()->None:..."),
    ("f(a, key = 1, * args, ** kwargs)", "f(a,key=1,*args,**kwargs)"),
    ("r = [*a, *b], {**c, 'd': 1}", "r=[*a,*b],{**c,'d':1}"),
    ("r = (a := 1)", "r=(a:=1)"),
    ("x = 1 ; y = x [0 : 2]", "x=1;y=x[0:2]"),
    ("from . . import x", "from. .import x"),  # three dots together would be one token, not three
    ("from . ... import x", "from. ...import x"),  # and four would be ... and .
    ("r = (1 ,\n     2) + \\\n    3", "r=(1,\n 2)+ \\\n 3"),  # a newline in brackets or after \ stays
]


@pytest.mark.parametrize(("source", "inlined"), SPACING)
def test_inline_source_drops_spaces_python_does_not_need(source: str, inlined: str) -> None:
    assert inline_source(source) == inlined + "\n"
    _assert_same_program(source, inlined)


def _program(text: str) -> ast.Module:
    """``text``'s tree without docstrings (emptied where one is its block's only statement) and hints: all
    that stripping may change."""
    module = ast.parse(text)
    for node in ast.walk(module):
        if isinstance(node, ast.arg):
            node.annotation = None
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            node.returns = None
        for field, value in ast.iter_fields(node):
            if isinstance(value, list):  # `x: T = v` is `x = v` once the hint is gone
                setattr(node, field, [ast.copy_location(ast.Assign(targets=[s.target], value=s.value), s)
                                      if isinstance(s, ast.AnnAssign) and s.value is not None else s
                                      for s in value])
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            if len(body) > 1:  # the block goes on without it
                del body[0]
            else:  # its only statement: '' keeps the block
                body[0].value.value = ""
    return module


def _line_numbers(module: ast.Module) -> list[tuple[str, int]]:
    """Each statement's and expression's kind and line, in walking order: a traceback's lines."""
    return [(type(node).__name__, node.lineno) for node in ast.walk(module) if isinstance(node, (ast.stmt, ast.expr))]


def _assert_same_program(source: str, inlined: str) -> None:
    """``inlined`` is ``source``'s program, every statement and expression on its original line."""
    original, stripped = _program(source), _program(inlined)
    assert ast.dump(stripped) == ast.dump(original)
    assert _line_numbers(stripped) == _line_numbers(original)


def test_inlined_handler_is_the_same_program(handler_artifact: HandlerArtifact) -> None:
    """Stripping may only empty docstrings and drop unevaluated hints: the tree is otherwise the handler's own."""
    inlined = inline_source(handler_artifact.source)
    _assert_same_program(handler_artifact.source, inlined)
    assert "->" not in inlined  # the hints really are gone
    assert _spaced_operators(inlined) == []  # the spaces around `=`, `,`, `(`... really are gone


def _spaced_operators(text: str) -> list[tuple[int, str]]:
    """``(row, operator)`` for every operator of ``text`` with a space beside it (not ``1 .real``'s dot)."""
    found = []
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        line, (row, col), (_, end) = token.line, token.start, token.end
        spaced = line[col - 1:col].isspace() and line[:col].strip() or line[end:end + 1] == " "
        if token.type == tokenize.OP and spaced and token.string != ".":
            found.append((row, token.string))
    return found


REPO = Path(__file__).resolve().parents[2]
#: Every Python file of the repository: the most varied Python the minifier has to hand.
PYTHON_FILES = sorted(path.relative_to(REPO).as_posix() for folder in ("src", "handler", "tests", "benchmarks")
                      for path in (REPO / folder).rglob("*.py"))


@functools.cache
def _inlined_here(source: str) -> str:
    """``inline_source`` on this interpreter, once per source in a test process: the per-file test
    and each runtime's comparison below want the same results (the whole repo: seconds each)."""
    return inline_source(source)


@pytest.mark.parametrize("path", PYTHON_FILES)
def test_every_python_file_of_the_repo_inlines_to_the_same_program(path: str) -> None:
    source = (REPO / path).read_text(encoding="utf-8")
    inlined = _inlined_here(source)
    _assert_same_program(source, inlined)
    assert inlined.count("\n") == source.count("\n") + (0 if source.endswith("\n") else 1)


#: Runs ``inline_source`` from ``argv[1]`` (standard library only) on each source of the JSON list on stdin.
_INLINE_ELSEWHERE = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("minify", sys.argv[1])
minify = importlib.util.module_from_spec(spec)
spec.loader.exec_module(minify)
json.dump([minify.inline_source(source) for source in json.load(sys.stdin)], sys.stdout)
"""


def _interpreter(version: str) -> str | None:
    """Python ``version``'s interpreter as ``make test-runtimes`` finds it: pyenv's, else one on PATH."""
    found = sorted(Path.home().glob(f".pyenv/versions/{version}.*/bin/python"))
    return str(found[-1]) if found else shutil.which(f"python{version}")


@pytest.mark.slow
@pytest.mark.parametrize("version", [r.removeprefix("python") for r in RUNTIMES
                                     if r != f"python{sys.version_info[0]}.{sys.version_info[1]}"])
def test_inline_source_writes_the_same_bytes_on_every_runtime(version: str) -> None:
    """3.12 tokenizes f-strings in parts, 3.11 as one token: the template must not depend on which renders it."""
    python = _interpreter(version)
    if python is None:
        pytest.skip(f"no python{version} on this machine (make test-runtimes skips it too)")
    sources = [(REPO / path).read_text(encoding="utf-8") for path in PYTHON_FILES]
    sources += [source for source, _ in SPACING]
    child = subprocess.run([python, "-c", _INLINE_ELSEWHERE, minify.__file__], input=json.dumps(sources),
                           capture_output=True, text=True, check=True, timeout=120)
    assert json.loads(child.stdout) == [_inlined_here(source) for source in sources]


def _role_statements(resources: dict[str, Any]) -> dict[str, dict[str, Any]]:
    role = props(resources, naming.ROLE_ID)
    (policy,) = role["Policies"]
    return {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}


def test_role_trusts_lambda_only_and_has_no_managed_policies(resources: dict[str, Any]) -> None:
    role = props(resources, naming.ROLE_ID)
    assert role["RoleName"] == {"Fn::Sub": "webhook-lambda-role-${Environment}"}
    assert "ManagedPolicyArns" not in role
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": ["lambda.amazonaws.com"]} or trust["Principal"] == {
        "Service": "lambda.amazonaws.com"}
    assert trust["Action"] == ["sts:AssumeRole"]


def test_role_grants_exactly_what_the_handler_uses(resources: dict[str, Any]) -> None:
    table = {"Fn::GetAtt": [naming.TABLE_ID, "Arn"]}
    deliveries = {"Fn::GetAtt": [naming.DELIVERIES_TABLE_ID, "Arn"]}
    key = {"Fn::GetAtt": [naming.KEY_ID, "Arn"]}
    expected = {
        "WriteDeliveries": (["dynamodb:PutItem"], [table, deliveries]),
        "ReadDeliveryMarkers": (["dynamodb:GetItem", "dynamodb:DescribeTable"], [deliveries]),
        # Only what an earlier version left there: the upgrade window's check and read.
        "ReadLegacyMarkers": (["dynamodb:ConditionCheckItem", "dynamodb:GetItem"], [table]),
        "ReadSigningSecret": (["secretsmanager:GetSecretValue"], [
            {"Fn::If": ["CreateSigningSecret", {"Ref": naming.SECRET_ID}, {"Ref": "SigningSecretArn"}]}]),
        "UseEncryptionKey": (["kms:Decrypt", "kms:GenerateDataKey"], [key]),
        "WriteOwnLogs": (["logs:CreateLogStream", "logs:PutLogEvents"], [{"Fn::Sub": [
            "${Arn}:log-stream:*",
            {"Arn": {"Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:"
                                "log-group:/aws/lambda/webhook-processor-${Environment}"}}]}]),
        "WriteTraces": (["xray:PutTraceSegments", "xray:PutTelemetryRecords"], ["*"]),
    }
    statements = _role_statements(resources)
    assert set(statements) == set(expected)
    for sid, (actions, resource) in expected.items():
        assert statements[sid]["Effect"] == "Allow"
        assert statements[sid]["Action"] == actions, sid
        assert statements[sid]["Resource"] == resource, sid


def _dynamodb_actions_the_handler_needs(source: str) -> set[str]:
    """IAM actions for every DynamoDB API the handler's ``source`` calls, from botocore's service model."""
    operations = botocore.session.get_session().get_service_model("dynamodb").operation_names
    called = {op for op in operations if f".{botocore.xform_name(op)}(" in source}
    needed = {f"dynamodb:{op}" for op in called - {"TransactWriteItems"}}
    if "TransactWriteItems" in called:
        # IAM authorises each action inside a transaction, not the transaction itself.
        kinds = {kind for kind in ("Put", "Update", "Delete", "ConditionCheck") if f'"{kind}"' in source}
        needed |= {f"dynamodb:{'ConditionCheckItem' if kind == 'ConditionCheck' else kind + 'Item'}"
                   for kind in kinds}
    return needed


def test_the_role_grants_exactly_the_dynamodb_actions_the_handler_calls(
    resources: dict[str, Any], handler_artifact: HandlerArtifact
) -> None:
    granted = {action for statement in _role_statements(resources).values()
               for action in statement["Action"] if action.startswith("dynamodb:")}
    needed = _dynamodb_actions_the_handler_needs(handler_artifact.source)
    assert needed, "the handler calls DynamoDB; the source scan found nothing"
    assert granted == needed


def test_only_xray_uses_a_wildcard_resource(resources: dict[str, Any]) -> None:
    roles = of_type(resources, "AWS::IAM::Role")
    assert len(roles) == 2  # the function's, CodeDeploy's (API Gateway's: test_account_setup.py)
    for logical_id, role in roles.items():
        # role_statements reads conditional (Fn::If) policies too.
        for statement in role_statements(role):
            resource = statement["Resource"]
            if "*" in (resource if isinstance(resource, list) else [resource]):
                assert all(a.startswith("xray:") for a in statement["Action"]), (logical_id, statement)


def test_arns_use_the_partition_pseudo_parameter(template: Template) -> None:
    assert "arn:aws:" not in to_json(template)


# --- confused deputies: every service principal acts for this account only -------------

ACCOUNT = PSEUDO["AWS::AccountId"]


def _service_statements(node: Any) -> Iterator[dict[str, Any]]:
    """Every policy statement anywhere in ``node`` whose principal is an AWS service."""
    if isinstance(node, dict):
        if isinstance(node.get("Principal"), dict) and "Service" in node["Principal"]:
            yield node
        for value in node.values():
            yield from _service_statements(value)
    elif isinstance(node, list):
        for item in node:
            yield from _service_statements(item)


def _assumes(trust: dict[str, Any], service: str, **context: Any) -> bool:
    return allowed(resolve(trust, {}), "sts:AssumeRole", ("Service", service), context)


def test_every_role_is_assumable_only_for_this_account(resources: dict[str, Any]) -> None:
    roles = of_type(resources, "AWS::IAM::Role")
    assert {naming.ROLE_ID, naming.CODEDEPLOY_ROLE_ID} <= set(roles)
    for logical_id, role in roles.items():
        trust = role["Properties"]["AssumeRolePolicyDocument"]
        for statement in trust["Statement"]:
            assert statement["Condition"]["StringEquals"]["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}, logical_id
            (service,) = as_list(statement["Principal"]["Service"])
            assert _assumes(trust, service, **{"aws:SourceAccount": ACCOUNT}), logical_id
            assert not _assumes(trust, service, **{"aws:SourceAccount": "444455556666"}), logical_id
            assert not _assumes(trust, service), logical_id
            assert not _assumes(trust, "ec2.amazonaws.com", **{"aws:SourceAccount": ACCOUNT}), logical_id


def test_the_invoke_permission_names_the_source_account_and_arn(resources: dict[str, Any]) -> None:
    permissions = of_type(resources, "AWS::Lambda::Permission")
    assert permissions
    for logical_id, permission in permissions.items():
        assert permission["Properties"]["SourceAccount"] == {"Ref": "AWS::AccountId"}, logical_id
        assert "${AWS::AccountId}" in permission["Properties"]["SourceArn"]["Fn::Sub"], logical_id


def test_no_service_principal_goes_unconditioned(resources: dict[str, Any]) -> None:
    """Every service statement anywhere is held to this account: by aws:SourceAccount or by an ARN naming it."""
    statements = list(_service_statements(resources))
    roles = [s for r in of_type(resources, "AWS::IAM::Role").values()
             for s in r["Properties"]["AssumeRolePolicyDocument"]["Statement"]]
    assert len(statements) >= len(roles) + 1  # the roles' trusts and the key's CloudWatch Logs statement
    for statement in statements:
        condition = statement.get("Condition", {})
        by_account = condition.get("StringEquals", {}).get("aws:SourceAccount") == {"Ref": "AWS::AccountId"}
        by_arn = [value for operator in ("ArnLike", "ArnEquals") for value in
                  condition.get(operator, {}).get("kms:EncryptionContext:aws:logs:arn", [])]
        assert by_account or (by_arn and all("${AWS::AccountId}" in v["Fn::Sub"] for v in by_arn)), statement


def test_role_uses_the_key_only_through_the_services(resources: dict[str, Any]) -> None:
    statement = _role_statements(resources)["UseEncryptionKey"]
    via = statement["Condition"]["StringEquals"]["kms:ViaService"]
    assert sorted(v["Fn::Sub"] for v in via) == [
        f"{service}.${{AWS::Region}}.amazonaws.com" for service in ("dynamodb", "lambda", "secretsmanager")]
