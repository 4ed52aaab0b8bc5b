"""Lookups into a rendered template's resources, and a small policy evaluator, shared by the template tests."""

from __future__ import annotations

import fnmatch
import re
from typing import Any


def props(resources: dict[str, Any], logical_id: str) -> dict[str, Any]:
    return resources[logical_id]["Properties"]


def of_type(resources: dict[str, Any], resource_type: str) -> dict[str, Any]:
    return {k: v for k, v in resources.items() if v["Type"] == resource_type}


# --- resolving intrinsics and evaluating policy statements ------------------------
#
# Enough of CloudFormation and IAM to ask "would AWS allow this request?" of the
# policies the template renders, so the tests check what a statement does, not
# only how it is spelled.

PSEUDO = {"AWS::Partition": "aws", "AWS::Region": "eu-west-1", "AWS::AccountId": "111122223333",
          "AWS::URLSuffix": "amazonaws.com"}


def resolve(value: Any, refs: dict[str, Any], conditions: dict[str, bool] | None = None) -> Any:
    """``value`` with Ref/Sub/GetAtt/Join/Split/If replaced by what ``refs`` and ``conditions`` say."""
    scope = {**PSEUDO, **refs}
    conditions = conditions or {}
    if isinstance(value, list):
        return [resolve(item, refs, conditions) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) != 1:
        return {key: resolve(item, refs, conditions) for key, item in value.items()}
    ((function, argument),) = value.items()
    if function == "Ref":
        return scope[argument]
    if function == "Fn::GetAtt":
        return scope[".".join(argument)]
    if function == "Fn::Sub":
        text, extra = (argument, {}) if isinstance(argument, str) else argument
        names = {**scope, **{k: resolve(v, refs, conditions) for k, v in extra.items()}}
        return re.sub(r"\$\{([^}]+)\}", lambda m: str(names[m.group(1)]), text)
    if function == "Fn::Join":
        separator, items = argument
        return separator.join(resolve(items, refs, conditions))
    if function == "Fn::Split":
        separator, text = argument
        return resolve(text, refs, conditions).split(separator)
    if function == "Fn::If":
        name, then, otherwise = argument
        return resolve(then if conditions[name] else otherwise, refs, conditions)
    return {function: resolve(argument, refs, conditions)}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _like(pattern: str, value: str) -> bool:
    return fnmatch.fnmatchcase(value, pattern)


#: IAM condition operators the template uses, as (request value, policy value) -> bool.
_OPERATORS = {
    "StringEquals": lambda actual, expected: actual == expected,
    "StringLike": lambda actual, pattern: _like(pattern, actual),
    "ArnLike": lambda actual, pattern: _like(pattern, actual),
    "ArnEquals": lambda actual, expected: actual == expected,
    "Bool": lambda actual, expected: str(actual).lower() == str(expected).lower(),
}


def condition_holds(condition: dict[str, Any], context: dict[str, Any]) -> bool:
    """IAM's rules: every operator and key must hold; a key holds if any policy value matches.

    ``Not`` operators hold when no value matches; a key absent from the request
    fails a positive operator and passes a negated one (no ``IfExists`` here).
    """
    for operator, keys in condition.items():
        negated = "Not" in operator
        base = operator.replace("Not", "")
        test = _OPERATORS[base]
        for key, expected in keys.items():
            if key not in context:
                if not negated:
                    return False
                continue
            matched = any(test(context[key], value) for value in as_list(expected))
            if matched == negated:
                return False
    return True


def statement_matches(statement: dict[str, Any], action: str, principal: tuple[str, str] | None,
                      context: dict[str, Any], resource: str | None = None) -> bool:
    """Whether ``statement`` applies to ``action`` by ``principal`` (``("AWS"|"Service", id)``) on ``resource``.

    ``principal`` None: an identity policy's statement, which names none;
    ``resource`` None: a resource policy's own resource, which ``*`` matches.
    """
    if not any(_like(pattern, action) for pattern in as_list(statement["Action"])):
        return False
    if resource is not None and not any(_like(pattern, resource) for pattern in as_list(statement["Resource"])):
        return False
    granted = statement.get("Principal")
    if principal is not None and granted is not None and granted != "*":
        kind, identity = principal
        if not any(value == "*" or _principal_arn(value) == identity for value in as_list(granted.get(kind, []))):
            return False
    return condition_holds(statement.get("Condition", {}), context)


def _principal_arn(value: str) -> str:
    """IAM reads a bare 12-digit account ID in ``Principal`` as that account's root ARN."""
    return f"arn:aws:iam::{value}:root" if value.isdigit() and len(value) == 12 else value


def allowed(policy: dict[str, Any], action: str, principal: tuple[str, str] | None, context: dict[str, Any],
            resource: str | None = None) -> bool:
    """Whether ``policy`` alone allows the request: some Allow applies and no Deny does."""
    statements = as_list(policy["Statement"])
    if any(s["Effect"] == "Deny" and statement_matches(s, action, principal, context, resource)
           for s in statements):
        return False
    return any(s["Effect"] == "Allow" and statement_matches(s, action, principal, context, resource)
               for s in statements)


def denied(policy: dict[str, Any], action: str, principal: tuple[str, str], context: dict[str, Any]) -> bool:
    """Whether some Deny statement of ``policy`` applies to the request."""
    return any(s["Effect"] == "Deny" and statement_matches(s, action, principal, context)
               for s in as_list(policy["Statement"]))
