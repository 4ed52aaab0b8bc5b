"""``HANDOFF.md``: the document a platform team reads instead of the generator's code.

Everything in it is read from the rendered template (resources, parameters,
outputs, conditions, policies, checkov skips, deletion policies) or from the
tables the template is built from (environments), so it cannot disagree with
the template it ships beside.  The prose is ``templates/HANDOFF.md.j2`` and its
``section-*.md.j2`` files; this module derives the facts they are fed, one
function per section.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from awacs import awsencode
from troposphere import Template

from .. import __version__
from ..config import EnvironmentConfig
from ..exit_codes import EXIT_REFUSED
from ..stack import naming
from ..stack.account_setup import SET_ACCOUNT_ROLE_COMMAND, build_account_template
from ..stack.capabilities import required_capabilities
from ..stack.encryption import KEY_SERVICES
from ..stack.handler_artifact import HandlerLimits
from ..stack.limits import TEMPLATE_BODY_LIMIT
from ..stack.parameters import parameter_file
from ..stack.policies import decrypt_through_service
from ..stack.secrets import reader_policy
from . import (
    cost,
    deploy_role,
    diagram,
    manifest,
    permissions_boundary,
    pipelines,
    releases,
    runbook,
    sender_contract,
    streaming,
    templating,
)
from .guard_script import POLICY_NAME, SCRIPT_NAME
from .markdown import cell, code, short_form
from .procedure import ACCOUNT_SETUP_COMMAND, DEPLOY_TEMPLATE, change_set_block
from .render import template_dict

NAME = "HANDOFF.md"
#: The document's template: a header and one include per section.
TEMPLATE = "HANDOFF.md.j2"
#: Every IAM action the template grants, in plain words.  ``iam_actions`` and a
#: test check that no granted action is missing, so this cannot drift.
ACTION_WORDS: Mapping[str, str] = {
    "dynamodb:PutItem": "write items (a transaction and its delivery marker, in one transaction)",
    "dynamodb:GetItem": "read one item by its key (to answer a retried delivery)",
    "dynamodb:DescribeTable": "read the table's description (its creation time ends the upgrade window)",
    "dynamodb:ConditionCheckItem": "check, inside the write's transaction, that an item does not exist "
                                   "(an earlier version's delivery marker)",
    "secretsmanager:GetSecretValue": "read the secret's value",
    "kms:Decrypt": "decrypt with the key",
    "kms:GenerateDataKey": "create data keys to encrypt with the key",
    "logs:CreateLogGroup": "create log groups",
    "logs:CreateLogStream": "create log streams",
    "logs:PutLogEvents": "write log events",
    "logs:DescribeLogStreams": "list log streams",
    "xray:PutTraceSegments": "send X-Ray trace segments",
    "xray:PutTelemetryRecords": "send X-Ray telemetry",
    "kms:GetKeyPolicy": "read the key policy",
    "kms:PutKeyPolicy": "replace the key policy",
    "kms:ListKeyPolicies": "list the key's policies",
    "kms:EnableKey": "enable the key",
    "kms:DisableKey": "disable the key",
    "kms:UpdateKeyDescription": "change the key's description",
    "kms:GetKeyRotationStatus": "read whether the key rotates",
    "kms:EnableKeyRotation": "turn key rotation on",
    "kms:DisableKeyRotation": "turn key rotation off",
    "kms:RotateKeyOnDemand": "rotate the key now",
    "kms:ListKeyRotations": "list the key's rotations",
    "kms:TagResource": "tag the key",
    "kms:UntagResource": "untag the key",
    "kms:ListResourceTags": "list the key's tags",
    "kms:CreateAlias": "create an alias for the key",
    "kms:UpdateAlias": "point an alias at the key",
    "kms:DeleteAlias": "delete an alias of the key",
    "kms:ListGrants": "list the key's grants",
    "kms:RevokeGrant": "revoke a grant of the key",
    "kms:ScheduleKeyDeletion": "schedule the key's deletion (after the waiting period)",
    "kms:CancelKeyDeletion": "cancel the key's scheduled deletion",
    "kms:Encrypt": "encrypt with the key",
    "kms:ReEncryptFrom": "re-encrypt data from the key",
    "kms:ReEncryptTo": "re-encrypt data to the key",
    "kms:GenerateDataKeyWithoutPlaintext": "create encrypted-only data keys",
    "kms:DescribeKey": "read the key's description",
    "kms:CreateGrant": "grant AWS services use of the key",
    "lambda:GetAlias": "read the function's aliases",
    "lambda:UpdateAlias": "move an alias's traffic between versions",
    "lambda:GetProvisionedConcurrencyConfig": "read an alias's provisioned concurrency",
    "lambda:InvokeFunction": "invoke the function",
    "cloudwatch:DescribeAlarms": "read the alarms' state",
}

#: Physical-name properties, for the "retained on delete" table.
_NAME_PROPERTIES = ("TableName", "LogGroupName", "Name", "AliasName", "FunctionName", "RoleName")


# --- facts read from the template -------------------------------------------------

def allowed_values(parameter: Mapping[str, Any]) -> str:
    """A parameter's constraints in a few words."""
    parts = []
    if "AllowedValues" in parameter:
        parts.append(", ".join(code(v) for v in parameter["AllowedValues"]))
    if "AllowedPattern" in parameter:
        parts.append("matches " + code(parameter["AllowedPattern"]))
    for low, high, unit in (("MinValue", "MaxValue", ""), ("MinLength", "MaxLength", " characters")):
        if low in parameter or high in parameter:
            parts.append(f"{parameter.get(low, '…')} to {parameter.get(high, '…')}{unit}")
    return "; ".join(parts) or "any"


def _statements(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    statements = document.get("Statement", [])
    return statements if isinstance(statements, list) else [statements]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def role_statements(resource: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Every permission statement of an ``AWS::IAM::Role``'s inline policies.

    A policy under ``Fn::If`` (granted only when a condition holds) counts with
    its true branch: what the role may do at most.
    """
    policies = [
        policy["Fn::If"][1] if "Fn::If" in policy else policy
        for policy in resource.get("Properties", {}).get("Policies", [])
    ]
    return [
        statement
        for policy in policies if "PolicyDocument" in policy
        for statement in _statements(policy["PolicyDocument"])
    ]


def key_statements(resource: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Every statement of an ``AWS::KMS::Key``'s key policy."""
    return _statements(resource.get("Properties", {}).get("KeyPolicy", {}))


def iam_actions(body: Mapping[str, Any]) -> set[str]:
    """Every action the template grants, in role policies and key policies."""
    readers = {"AWS::IAM::Role": role_statements, "AWS::KMS::Key": key_statements}
    return {
        action
        for resource in body["Resources"].values() if resource["Type"] in readers
        for statement in readers[resource["Type"]](resource)
        for action in _as_list(statement["Action"])
    }


def in_words(action: str) -> str:
    """``action`` in plain words; a missing wording is an error, not a silent gap."""
    try:
        return ACTION_WORDS[action]
    except KeyError:
        raise KeyError(f"no plain-words wording for IAM action {action!r}: add it to handoff.ACTION_WORDS") from None


def checkov_skips(body: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """``(check, resource, reason)`` for every checkov skip in the resources' metadata."""
    return [
        (skip["id"], logical_id, skip.get("comment", ""))
        for logical_id, resource in body["Resources"].items()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]


def physical_name(resource: Mapping[str, Any]) -> str:
    """The resource's name property in short form, or "generated by CloudFormation"."""
    properties = resource.get("Properties", {})
    for name in _NAME_PROPERTIES:
        if name in properties:
            return code(short_form(properties[name]))
    return "generated by CloudFormation"


# --- facts, one function per section ------------------------------------------------

def _of_type(body: Mapping[str, Any], resource_type: str) -> dict[str, Mapping[str, Any]]:
    return {k: v for k, v in body["Resources"].items() if v["Type"] == resource_type}


def purpose_facts(body: Mapping[str, Any]) -> dict[str, Any]:
    """What the stack is for: the template's description and size."""
    return {"description": body.get("Description", ""), "resource_count": len(body["Resources"])}


def architecture_facts(body: Mapping[str, Any], graph: diagram.Graph, svg_name: str | None,
                       path_svg_name: str | None) -> dict[str, Any]:
    """The two Mermaid graphs, the SVGs drawn beside them, and the resources table's rows."""
    return {
        "request_path": diagram.overview_to_mermaid(diagram.request_path(body["Resources"])).rstrip("\n"),
        "path_svg": path_svg_name,
        "graph": diagram.to_mermaid(graph).rstrip("\n"),
        "svg": svg_name,
        "resources": [
            (code(node.logical_id), code(node.type), code(node.condition) if node.condition else "always",
             "retained" if node.retained else "deleted")
            for node in graph.nodes
        ],
    }


def parameters_facts(body: Mapping[str, Any], environments: Mapping[str, EnvironmentConfig]) -> dict[str, Any]:
    """The parameters table, each environment's values (those its parameter file holds), the conditions."""
    values = {name: {e["ParameterKey"]: e["ParameterValue"] for e in parameter_file(config)}
              for name, config in environments.items()}
    return {
        "rows": [
            (code(key), p["Type"], code(short_form(p["Default"])) if "Default" in p else "(required)",
             allowed_values(p), cell(p.get("Description", "")))
            for key, p in body["Parameters"].items()
        ],
        "environments": list(environments),
        "by_environment": [
            (code(key), *[code(short_form(values[name].get(key, p.get("Default", "")))) for name in environments])
            for key, p in body["Parameters"].items()
        ],
        "conditions": [(code(name), code(short_form(rule))) for name, rule in body.get("Conditions", {}).items()],
    }


def outputs_facts(body: Mapping[str, Any]) -> list[tuple[str, ...]]:
    """The outputs table's rows."""
    return [
        (code(key), cell(o.get("Description", "")), code(short_form(o["Value"])),
         code(short_form(o["Export"]["Name"])) if "Export" in o else "not exported")
        for key, o in body.get("Outputs", {}).items()
    ]


def deploying_facts(body: Mapping[str, Any], environments: Mapping[str, EnvironmentConfig],
                    template_bytes: int) -> dict[str, Any]:
    """The capabilities and each environment's change-set block."""
    capabilities = required_capabilities(body)
    return {
        "capabilities": capabilities,
        "blocks": {name: change_set_block(config, capabilities, template_bytes)
                   for name, config in environments.items()},
    }


def deploy_role_facts(body: Mapping[str, Any], environments: Mapping[str, EnvironmentConfig]) -> dict[str, Any]:
    """What the deploy role's policy covers and is conditioned on, and the commands that create it."""
    return {
        "policy_file": deploy_role.NAME,
        "resource_types": deploy_role.resource_types(body),
        "key_tags": deploy_role.key_tag_values(environments.values()),
        "key_services": KEY_SERVICES,
        "passes": deploy_role.role_services(body),
        "create_commands": "\n".join(deploy_role.create_commands()) + "\n",
        "role_name": deploy_role.ROLE_NAME,
        "deploy_role_parameter": naming.DEPLOY_ROLE_PARAMETER,
        "key_policy_sids": deploy_role.key_policy_sids(body),
        "boundary_name": permissions_boundary.POLICY_NAME,
        "boundary_file": permissions_boundary.NAME,
        "boundary_parameter": naming.PERMISSIONS_BOUNDARY_PARAMETER,
    }


def cost_facts(environments: Mapping[str, EnvironmentConfig],
               errors: Sequence[sender_contract.HandlerError]) -> dict[str, Any]:
    """The price basis and the cost table."""
    headers, rows = cost.cost_rows(environments, errors)
    return {"region": cost.REGION, "prices_as_of": cost.PRICES_AS_OF, "headers": headers, "rows": rows}


def _may(statement: Mapping[str, Any]) -> str:
    return "; ".join(in_words(action) for action in _as_list(statement["Action"]))


def _on(statement: Mapping[str, Any]) -> str:
    return ", ".join(code(short_form(r)) for r in _as_list(statement.get("Resource", [])))


def _principal(statement: Mapping[str, Any]) -> str:
    principal = statement.get("Principal", {})
    return ", ".join(f"{kind} {code(short_form(v))}" for kind, values in principal.items() for v in _as_list(values))


def _role(logical_id: str, resource: Mapping[str, Any], template: str = "") -> dict[str, Any]:
    """A role's facts; ``template``: the bundle file it is in, when not the webhook template."""
    properties = resource["Properties"]
    return {
        "logical_id": logical_id,
        "template": template,
        "name": physical_name(resource),
        "principals": sorted(
            service
            for statement in _statements(properties["AssumeRolePolicyDocument"])
            for service in _as_list(statement.get("Principal", {}).get("Service", []))
        ),
        "condition": resource.get("Condition"),
        "managed": [short_form(arn) for arn in properties.get("ManagedPolicyArns", [])],
        "description": properties.get("Description", "").rstrip(),
        "statements": [(code(st.get("Sid", "")), _may(st), _on(st)) for st in role_statements(resource)],
    }


def account_setup_facts() -> dict[str, Any]:
    """The account setup template: its file, stack, the command that deploys it and what it holds."""
    resources = template_dict(build_account_template())["Resources"]
    return {
        "file": naming.ACCOUNT_SETUP_TEMPLATE,
        "stack": naming.ACCOUNT_SETUP_STACK,
        "command": ACCOUNT_SETUP_COMMAND,
        "resources": list(resources),
        "moved": naming.MOVED_TO_ACCOUNT_SETUP,
    }


def permissions_facts(body: Mapping[str, Any]) -> dict[str, Any]:
    """Every role (who assumes it, its statements in plain words), the account setup's too, and every key policy."""
    account_setup = {"Resources": template_dict(build_account_template())["Resources"]}
    return {
        "roles": [_role(logical_id, r) for logical_id, r in _of_type(body, "AWS::IAM::Role").items()]
        + [_role(logical_id, r, naming.ACCOUNT_SETUP_TEMPLATE)
           for logical_id, r in _of_type(account_setup, "AWS::IAM::Role").items()],
        "key_policies": [
            {"logical_id": logical_id,
             "statements": [(code(st.get("Sid", "")), _principal(st), _may(st),
                             code(short_form(st["Condition"])) if "Condition" in st else "always")
                            for st in key_statements(r)]}
            for logical_id, r in _of_type(body, "AWS::KMS::Key").items()
        ],
    }


def _policy_json(policy: Any) -> str:
    return json.dumps(policy, cls=awsencode, indent=2)


def secret_facts(body: Mapping[str, Any]) -> dict[str, Any]:
    """The secret's resource policies, and the policy and key statement an existing secret's owner attaches."""
    role = f"arn:aws:iam::<account>:role/{naming.ROLE}-<env>"
    return {
        "policies": list(_of_type(body, "AWS::SecretsManager::ResourcePolicy")),
        "reader_policy": _policy_json(reader_policy([role, "<reader ARN>"])),
        "decrypt_statement": _policy_json(decrypt_through_service(role, "secretsmanager.<region>.amazonaws.com")),
    }


def skips_facts(body: Mapping[str, Any]) -> list[tuple[str, ...]]:
    """The checkov skips table's rows."""
    return [(code(check), code(resource), cell(reason)) for check, resource, reason in checkov_skips(body)]


def retained_facts(body: Mapping[str, Any]) -> dict[str, Any]:
    """The resources deleting the stack leaves behind, and those with deletion protection."""
    return {
        "rows": [
            (code(logical_id), code(r["Type"]), physical_name(r),
             code(r["Condition"]) if "Condition" in r else "always",
             r.get("UpdateReplacePolicy", "Delete"))
            for logical_id, r in body["Resources"].items()
            if r.get("DeletionPolicy") in ("Retain", "RetainExceptOnCreate", "Snapshot")
        ],
        "protected": [
            (logical_id, short_form(properties["DeletionProtectionEnabled"]))
            for logical_id, r in body["Resources"].items()
            if "DeletionProtectionEnabled" in (properties := r.get("Properties", {}))
        ],
    }


def _schema_json(model: Mapping[str, Any]) -> str:
    schema = model["Schema"]
    return json.dumps(json.loads(schema) if isinstance(schema, str) else schema, indent=2)


def contract_facts(body: Mapping[str, Any], limits: HandlerLimits,
                   errors: Sequence[sender_contract.HandlerError]) -> dict[str, Any]:
    """What senders meet beyond the handler's limits: statuses, decimals, answers, retries and the request model."""
    answered = sender_contract.answered_statuses(errors, body)
    return {
        "statuses": [(code(s), sender_contract.in_words(s)) for s in limits.statuses],
        "currencies": [(str(digits), " ".join(codes)) for digits, codes in sender_contract.currency_groups(limits)],
        "errors": [(str(e.status), code(e.code), code(e.message), sender_contract.what_to_do(e.status))
                   for e in errors],
        "retries": sender_contract.retry_rows(answered),
        "answers_gone": sender_contract.GONE in answered,
        "gateway_responses": [
            (code(r["Properties"]["ResponseType"]), code(next(iter(r["Properties"]["ResponseTemplates"].values()))))
            for r in _of_type(body, "AWS::ApiGateway::GatewayResponse").values()
        ],
        "schemas": [_schema_json(r["Properties"]) for r in _of_type(body, "AWS::ApiGateway::Model").values()],
    }


def handoff_markdown(
    template: Template,
    file_names: Sequence[str],
    *,
    template_bytes: int,
    limits: HandlerLimits,
    errors: Sequence[sender_contract.HandlerError] = (),
    svg_name: str | None = None,
    path_svg_name: str | None = None,
    environments: Mapping[str, EnvironmentConfig],
) -> str:
    """The handoff document for ``template``.

    ``file_names`` are the bundle's files (for the file list), ``template_bytes``
    the size of the template file the deploy commands use, ``limits`` the
    limits of the handler it ships, and ``svg_name`` the
    rendered diagram and ``path_svg_name`` the request path's, when Graphviz was there to draw them.
    """
    body = template_dict(template)
    graph = diagram.resource_graph(body["Resources"])
    text = templating.render(
        TEMPLATE,
        version=__version__,
        naming=naming,
        body_limit=TEMPLATE_BODY_LIMIT,
        deploy_template=DEPLOY_TEMPLATE,
        guard_script=SCRIPT_NAME,
        stack_policy=POLICY_NAME,
        exit_refused=EXIT_REFUSED,
        account_setup=account_setup_facts(),
        set_account_role_command=SET_ACCOUNT_ROLE_COMMAND,
        key_services=KEY_SERVICES,
        manifest=manifest.NAME,
        limits=limits,
        purpose=purpose_facts(body),
        architecture=architecture_facts(body, graph, svg_name, path_svg_name),
        parameters=parameters_facts(body, environments),
        outputs=outputs_facts(body),
        deploying=deploying_facts(body, environments, template_bytes),
        pipelines=pipelines.facts(environments),
        deploy_role=deploy_role_facts(body, environments),
        cost=cost_facts(environments, errors),
        releases=releases.facts(body, environments),
        permissions=permissions_facts(body),
        runbook=runbook.facts(body, errors, environments),
        secret=secret_facts(body),
        skips=skips_facts(body),
        retained=retained_facts(body),
        stream=streaming.facts(body),
        contract=contract_facts(body, limits, errors),
        files=list(file_names),
    )
    # One trailing newline, however the last section ends.
    return text.rstrip("\n") + "\n"
