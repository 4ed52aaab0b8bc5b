"""``HANDOFF.md``: the document a platform team reads instead of the generator's code.

Everything in it is read from the rendered template (resources, parameters,
outputs, conditions, policies, checkov skips, deletion policies) or from the
tables the template is built from (environments), so it cannot disagree with
the template it ships beside.  Nothing here is hand-maintained prose about the
stack; the prose is about how to read and use it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from awacs import awsencode
from troposphere import Template

from .. import __version__
from ..config import EnvironmentConfig
from ..exit_codes import EXIT_REFUSED
from ..stack import naming
from ..stack.capabilities import required_capabilities
from ..stack.encryption import KEY_SERVICES
from ..stack.handler_artifact import HandlerLimits
from ..stack.limits import TEMPLATE_BODY_LIMIT
from ..stack.parameters import ACCOUNT_ROLE_PARAMETER, SET_ACCOUNT_ROLE_COMMAND
from ..stack.policies import decrypt_through_service
from ..stack.secrets import reader_policy
from . import cost, deploy_role, diagram, releases, sender_contract, streaming
from .guard_script import POLICY_NAME, SCRIPT_NAME
from .procedure import DEPLOY_TEMPLATE, change_set_block
from .render import template_dict

NAME = "HANDOFF.md"

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


# --- small renderers -----------------------------------------------------------

def short_form(value: Any) -> str:
    """A template value in CloudFormation's YAML short form (``!Ref X``, ``!Sub '...'``)."""
    if isinstance(value, dict) and len(value) == 1:
        ((key, argument),) = value.items()
        if key == "Ref":
            return f"!Ref {argument}"
        if key == "Fn::GetAtt":
            return "!GetAtt " + (".".join(argument) if isinstance(argument, list) else argument)
        if key.startswith("Fn::"):
            if isinstance(argument, str):
                return f"!{key[4:]} '{argument}'"
            return f"!{key[4:]} {short_form(argument)}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {short_form(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(short_form(item) for item in value) + "]"
    if value == "":
        return "''"
    return value if isinstance(value, str) else json.dumps(value)


def cell(text: object) -> str:
    """``text`` made safe for one Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def code(text: object) -> str:
    """``text`` as inline code (safe in a table cell)."""
    return f"`{cell(text)}`"


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    """A Markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines + [""]


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


# --- sections ----------------------------------------------------------------------

def _purpose(body: Mapping[str, Any]) -> list[str]:
    return [
        "## What this stack is for",
        "",
        body.get("Description", ""),
        "",
        f"One environment-agnostic template of {len(body['Resources'])} resources; each environment "
        "is one stack of it, deployed with its own parameter file.",
        "",
    ]


def _mermaid(source: str) -> list[str]:
    """A fenced Mermaid block (GitHub and GitLab draw it) and the blank line after it."""
    return ["```mermaid", source.rstrip("\n"), "```", ""]


def _architecture(body: Mapping[str, Any], graph: diagram.Graph, svg_name: str | None,
                  path_svg_name: str | None) -> list[str]:
    overview = diagram.request_path(body["Resources"])
    lines = [
        "## Architecture",
        "",
        "### The request path",
        "",
        "A delivery goes down the thick boxes: the sender's signed `POST` reaches the API Gateway "
        "stage (throttled at `ThrottleRateLimit` requests per second, bursts of `ThrottleBurstLimit`), "
        "whose `POST /webhook` method checks the body against the request model and answers "
        "malformed ones itself; the function verifies the signature, validates and stores the "
        "transaction once in the table. Beside them, what supports it. Each box names the "
        "template's resources it stands for; an arrow is drawn only where the template relates them.",
        "",
        *_mermaid(diagram.overview_to_mermaid(overview)),
    ]
    if path_svg_name:
        lines += [f"![The request path]({path_svg_name})", ""]
    lines += [
        "### Every resource",
        "",
        "Each box is a resource (logical ID and type); an arrow points from a resource to one it "
        "refers to, labelled with how (`Ref` or `GetAtt <attribute>`, including references inside "
        "`Fn::Sub`). Dashed boxes exist only under the condition shown; thick boxes are retained "
        "when the stack is deleted.",
        "",
        *_mermaid(diagram.to_mermaid(graph)),
    ]
    if svg_name:
        # Too large to read inline at a page's width: linked, to open at full size.
        lines += [f"The same graph drawn by Graphviz, to open at full size: [{svg_name}]({svg_name}).", ""]
    lines += ["### Resources", ""]
    lines += table(
        ["Logical ID", "Type", "Created when", "On stack deletion"],
        [
            (code(node.logical_id), code(node.type), code(node.condition) if node.condition else "always",
             "retained" if node.retained else "deleted")
            for node in graph.nodes
        ],
    )
    return lines


def _parameters(body: Mapping[str, Any], environments: Mapping[str, EnvironmentConfig]) -> list[str]:
    from ..stack.parameters import parameter_file  # the same values the parameter files hold

    lines = ["## Parameters", ""]
    lines += table(
        ["Parameter", "Type", "Default", "Allowed values", "Description"],
        [
            (code(key), p["Type"], code(short_form(p["Default"])) if "Default" in p else "(required)",
             allowed_values(p), cell(p.get("Description", "")))
            for key, p in body["Parameters"].items()
        ],
    )
    values = {name: {e["ParameterKey"]: e["ParameterValue"] for e in parameter_file(config)}
              for name, config in environments.items()}
    lines += ["Values in each environment's parameter file (`parameters/<env>.json`):", ""]
    lines += table(
        ["Parameter", *[f"`{name}`" for name in environments]],
        [(code(key), *[code(short_form(values[name].get(key, p.get("Default", "")))) for name in environments])
         for key, p in body["Parameters"].items()],
    )
    if body.get("Conditions"):
        lines += ["Conditions derived from the parameters:", ""]
        lines += table(["Condition", "True when"],
                       [(code(name), code(short_form(rule))) for name, rule in body["Conditions"].items()])
    return lines


def _outputs(body: Mapping[str, Any]) -> list[str]:
    lines = ["## Outputs", ""]
    lines += table(
        ["Output", "Description", "Value", "Exported as"],
        [
            (code(key), cell(o.get("Description", "")), code(short_form(o["Value"])),
             code(short_form(o["Export"]["Name"])) if "Export" in o else "not exported")
            for key, o in body.get("Outputs", {}).items()
        ],
    )
    return lines


def _deploy_role_conditions(body: Mapping[str, Any], environments: Mapping[str, EnvironmentConfig]) -> str:
    """What the deploy role's IAM and KMS statements are conditioned on, in a few sentences."""
    tags = deploy_role.key_tag_values(body, environments.values())
    required = " and ".join(f"{code(tag)} is {' or '.join(code(v) for v in values)}" for tag, values in tags.items())
    passes = ", ".join(f"{code(role)} to {' and '.join(code(s) for s in services)}"
                       for role, services in deploy_role.role_services(body).items())
    return (
        f"KMS keys get generated IDs, so key actions require the key's tags instead ({required}, from the "
        "environments; a deploy that overrides these parameters needs the policy rendered with its values), "
        "a new key is created only with them, and keys are used only through "
        + ", ".join(code(service) for service in KEY_SERVICES) + ". KMS checks a new key's tags as "
        "`kms:TagResource` on every key, so that one grant could also tag another key whose key policy "
        f"leaves tagging to IAM. `iam:PassRole` passes each role only to its service ({passes}); "
        "`iam:AttachRolePolicy` attaches only this account's `webhook-*` managed policies (the template "
        "attaches none); service-linked roles are DynamoDB's only."
    )


def _deploying(
    body: Mapping[str, Any], environments: Mapping[str, EnvironmentConfig], template_bytes: int
) -> list[str]:
    capabilities = required_capabilities(body)
    lines = [
        "## Deploying",
        "",
        "Required capabilities: " + (", ".join(code(c) for c in capabilities) or "none")
        + (" (the template creates IAM roles with fixed names)." if "CAPABILITY_NAMED_IAM" in capabilities else "."),
        "",
        "### Before the first deploy",
        "",
        "- AWS CLI v1 or v2, `python3` 3.8 or later, and credentials and a region (`AWS_REGION`, or a "
        "profile) for the target account.",
        "- The account's **API Gateway CloudWatch role** (one per account and region), without which "
        "creating the stage's access logging fails and the first deploy rolls back. Check it with "
        "`aws apigateway get-account --query cloudwatchRoleArn --output text`: `None` means there is "
        f"none. Then set `{ACCOUNT_ROLE_PARAMETER}` to `true` in the parameter file of exactly one stack "
        "in that account and region (it creates the role and sets it), or point API Gateway at an "
        f"existing role: `{SET_ACCOUNT_ROLE_COMMAND}`. The blocks below, and `webhook-templates deploy`, check "
        "this before creating anything.",
        "- Optionally, the deploy role below, so CloudFormation acts with this stack's permissions only.",
        "",
        "Each environment is one stack, deployed through a change set by the block under its name. Run it "
        "from this folder with AWS CLI v1 or v2 and `python3` (3.8+, for the data guard), with credentials "
        "and `AWS_REGION` (or a profile) for the target account; it is POSIX `sh` in a subshell, so "
        "pasting it into a terminal is safe. It creates a change set (`CREATE` when there is no stack, "
        "else `UPDATE`), waits for it, shows it, runs the data guard (`" + SCRIPT_NAME + "`) on it, asks "
        "when it runs at a terminal, executes it with `--retain-except-on-create` (a failed operation "
        "deletes what it newly created, so no orphaned table blocks the retry), waits, then sets `"
        + POLICY_NAME + "` as the stack policy and, for production, termination protection. When "
        "nothing changed, the empty change set is deleted and the block still protects the stack and "
        "exits 0, so a pipeline can run it on every commit. Exit codes: 0 deployed or up to date, "
        f"1 failed (the reason is printed), {EXIT_REFUSED} refused by the data guard or by you.",
        "",
    ]
    for name, config in environments.items():
        lines += [f"### {name}", "", "```sh", change_set_block(config, capabilities, template_bytes).rstrip("\n"),
                  "```", ""]
    lines += [
        "### What to review before executing",
        "",
        "The change table the block prints (action, logical ID, type, replacement). Expect `Modify` "
        "with `Replacement` `False` for a routine update: the function's code or settings, the API "
        "deployment (its logical ID changes with any API change, so an old one is removed and a new one "
        "added), alarms. Stop and ask if any row is `Remove`, or has `Replacement` `True` or "
        "`Conditional`, for a resource you did not mean to change: the guard refuses these for the data "
        "resources (table, key, secret, log groups, and any resource of their types) with exit "
        f"{EXIT_REFUSED}, and the stack policy refuses them again inside CloudFormation, but a replaced "
        "function or role still changes what runs. `describe-change-set --output json` has the "
        "property-level detail (`Details[].Target`).",
        "",
        "### In a pipeline: plan and apply",
        "",
        "Split each block at the `if [ -t 0 ]` confirmation. **Plan** (on every change): everything "
        "before it (create the change set, wait, print the table, `" + SCRIPT_NAME + "`); publish "
        "`$STACK`, `$CHANGE_SET` and `$TYPE` and the `describe-change-set --output json` as the stage's "
        "artifact, and fail the stage on a non-zero exit. **Apply** (after a person approves the plan): "
        "`execute-change-set` with `--retain-except-on-create` on that change set name, the wait, "
        "`set-stack-policy` and (prod) `update-termination-protection`. Apply executes exactly the "
        "reviewed change set; if the stack moved in between, CloudFormation refuses it "
        "(`OBSOLETE`) and the plan is run again. Use a deploy role with the permissions in "
        "`deploy-role-policy.json` (below) rather than an administrator.",
        "",
        "### The deploy role",
        "",
        f"`{deploy_role.NAME}` is the IAM policy a CloudFormation service role needs to create, update "
        "and delete this stack, and nothing more: the union of the `handlers.create/update/delete."
        "permissions` of the CloudFormation registry schema of each resource type the template uses ("
        + ", ".join(code(t) for t in deploy_role.resource_types(body)) + "), each service's actions "
        "limited to this stack's resource names (`transactions-*` and its stream, `webhook-deliveries-*`, "
        "`webhook-processor-*`, "
        "`webhook-lambda-role-*`, `webhook-signing-secret-*`, the two log groups, `alias/webhook-lambda-*`, "
        "`webhook-*` alarms, this API's paths). Only the actions AWS does not scope by resource (creating "
        "a key, listing, VPC lookups) have `*` as resource; no action is a wildcard. "
        + _deploy_role_conditions(body, environments) + " Create the role once per "
        "account, then export its ARN as `CFN_ROLE_ARN`: the blocks pass it as `--role-arn` "
        "(`webhook-templates deploy --role-arn` does the same). Whoever runs the blocks then needs "
        "`cloudformation:*` on `webhook-*` stacks and `iam:PassRole` on this role only.",
        "",
        "```sh",
        *deploy_role.create_commands(),
        "```",
        "",
        # The blocks deploy DEPLOY_TEMPLATE; the YAML must not read as an equal alternative, since
        # it is the one that would outgrow the body limit first.
        "`template.yaml` is the same template in YAML, for reading and review. It is larger, closer "
        f"to CloudFormation's {TEMPLATE_BODY_LIMIT:,}-byte limit on a template body, so the blocks "
        f"above deploy `{DEPLOY_TEMPLATE}`. From a checkout of the repository, `make diff ENV=<env>` "
        "previews the change set and `make deploy ENV=<env>` deploys with the same checks.",
        "",
    ]
    return lines


def _cost(environments: Mapping[str, EnvironmentConfig]) -> list[str]:
    headers, rows = cost.cost_rows(environments)
    lines = [
        "## What a million webhooks cost",
        "",
        f"With each environment's parameter values and {cost.REGION} list prices as of "
        f"{cost.PRICES_AS_OF} (on-demand, free tiers left out; check the current prices before "
        "budgeting). The duration, log sizes, duplicate share and secret reads are assumptions, "
        "stated in the basis; the transactions' DynamoDB storage (kept until deleted), X-Ray traces "
        "and data transfer are not included.",
        "",
    ]
    return lines + table(headers, rows)


def _may(statement: Mapping[str, Any]) -> str:
    return "; ".join(in_words(action) for action in _as_list(statement["Action"]))


def _on(statement: Mapping[str, Any]) -> str:
    return ", ".join(code(short_form(r)) for r in _as_list(statement.get("Resource", [])))


def _principal(statement: Mapping[str, Any]) -> str:
    principal = statement.get("Principal", {})
    return ", ".join(f"{kind} {code(short_form(v))}" for kind, values in principal.items() for v in _as_list(values))


def _permissions(body: Mapping[str, Any]) -> list[str]:
    lines = [
        "## IAM permissions, in plain words",
        "",
        "Every role the stack creates, who may assume it, and each statement of its inline policy.",
        "",
    ]
    for logical_id, resource in body["Resources"].items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        properties = resource["Properties"]
        principals = sorted(
            service
            for statement in _statements(properties["AssumeRolePolicyDocument"])
            for service in _as_list(statement.get("Principal", {}).get("Service", []))
        )
        condition = f" Exists only if {code(resource['Condition'])}." if "Condition" in resource else ""
        managed = ", ".join(code(short_form(arn)) for arn in properties.get("ManagedPolicyArns", [])) or "none"
        lines += [
            f"### {logical_id}",
            "",
            f"Name: {physical_name(resource)}. Assumed by {', '.join(code(p) for p in principals)}."
            f"{condition} Managed policies attached: {managed}. {properties.get('Description', '')}".rstrip(),
            "",
        ]
        lines += table(
            ["Statement", "May", "On"],
            [(code(st.get("Sid", "")), _may(st), _on(st)) for st in role_statements(resource)],
        )
    for logical_id, resource in body["Resources"].items():
        if resource["Type"] == "AWS::KMS::Key":
            lines += [f"### {logical_id}'s key policy", ""]
            lines += table(
                ["Statement", "Who", "May", "Only when"],
                [(code(st.get("Sid", "")), _principal(st), _may(st),
                  code(short_form(st["Condition"])) if "Condition" in st else "always")
                 for st in key_statements(resource)],
            )
    return lines


def _policy_json(policy: Any) -> list[str]:
    return ["```json", json.dumps(policy, cls=awsencode, indent=2), "```", ""]


def _key_and_secret_access(body: Mapping[str, Any]) -> list[str]:
    """Who can use the key and read the signing secret, and what to do for an existing secret."""
    role = f"arn:aws:iam::<account>:role/{naming.ROLE}-<env>"
    services = ", ".join(code(service) for service in KEY_SERVICES)
    protected = [code(logical_id) for logical_id, r in body["Resources"].items()
                 if r["Type"] == "AWS::SecretsManager::ResourcePolicy"]
    return [
        "## Who can use the key and read the signing secret",
        "",
        "A key policy statement naming the account root hands the decision to the account's IAM "
        "policies. The key policy above gives it administration (no encryption, decryption or grants) "
        f"and use only through {services} in the stack's region, for callers of this account (grants "
        "only for AWS resources); CloudWatch Logs uses it only for the stack's two log groups. So a "
        "principal with `kms:Decrypt` in its IAM policy still cannot call KMS with the key directly.",
        "",
        f"When the stack creates the secret, {', '.join(protected)} denies `secretsmanager:GetSecretValue` "
        "to every principal except the function's role and the ARNs in `SigningSecretReaders` (`*` "
        "wildcards allowed, e.g. for IAM Identity Center roles), administrators included; "
        "`BlockPublicPolicy` refuses any policy that would open it. A listed reader still needs "
        "`secretsmanager:GetSecretValue` on the secret and `kms:Decrypt` on the key in its own IAM "
        "policy. Add readers through the parameter, not by editing the policy by hand: a hand edit is "
        "drift, which CloudFormation overwrites whenever it next updates the policy.",
        "",
        "**An existing secret (`SigningSecretArn`)** gets no policy from the stack, which does not own "
        "it; the function's role may already read it (`ReadSigningSecret`). Its owner should attach the "
        "same policy (the role's name is fixed) and keep the readers' list there:",
        "",
        *_policy_json(reader_policy([role, "<reader ARN>"])),
        "```sh",
        "aws secretsmanager put-resource-policy --secret-id <SigningSecretArn> --block-public-policy \\",
        "  --resource-policy file://secret-policy.json",
        "```",
        "",
        "If that secret is encrypted with `aws/secretsmanager`, nothing else is needed. If it is "
        "encrypted with another customer-managed key, the role's IAM policy allows `kms:Decrypt` only "
        "on this stack's key, so the function cannot decrypt it: the owner of that key adds this "
        "statement to its key policy (a key policy naming a role of its own account needs no IAM "
        "change; a key in another account would, and the stack does not make one):",
        "",
        *_policy_json(decrypt_through_service(role, "secretsmanager.<region>.amazonaws.com")),
    ]


def _skips(body: Mapping[str, Any]) -> list[str]:
    lines = [
        "## Checkov checks skipped, and why",
        "",
        "Each skip is recorded in its resource's `Metadata`, where checkov reads it; `make lint` "
        "fails on any other checkov or cfn-lint finding (informational ones included).",
        "",
    ]
    rows = [(code(check), code(resource), cell(reason)) for check, resource, reason in checkov_skips(body)]
    return lines + table(["Check", "Resource", "Why"], rows)


def _retained(body: Mapping[str, Any]) -> list[str]:
    rows = [
        (code(logical_id), code(r["Type"]), physical_name(r),
         code(r["Condition"]) if "Condition" in r else "always",
         r.get("UpdateReplacePolicy", "Delete"))
        for logical_id, r in body["Resources"].items()
        if r.get("DeletionPolicy") in ("Retain", "RetainExceptOnCreate", "Snapshot")
    ]
    protected = [
        f"{code(logical_id)} also has "
        f"`DeletionProtectionEnabled: {short_form(properties['DeletionProtectionEnabled'])}`."
        for logical_id, r in body["Resources"].items()
        if "DeletionProtectionEnabled" in (properties := r.get("Properties", {}))
    ]
    lines = [
        "## What is retained when a stack is deleted",
        "",
        "Deleting a stack (or a change that would replace one of these) leaves the following in "
        "the account, with their data; remove them by hand once they are no longer needed "
        "(a KMS key can only be scheduled for deletion, after a waiting period).",
        "",
    ]
    lines += table(["Logical ID", "Type", "Name", "Exists when", "On replacement"], rows)
    return lines + (protected + [""] if protected else []) + [
        "Everything else (function, API, roles, alarms) is deleted with the stack.", ""]


def _contract(body: Mapping[str, Any], limits: HandlerLimits,
              errors: Sequence[sender_contract.HandlerError]) -> list[str]:
    models = [r["Properties"] for r in body["Resources"].values() if r["Type"] == "AWS::ApiGateway::Model"]
    responses = [r["Properties"] for r in body["Resources"].values() if r["Type"] == "AWS::ApiGateway::GatewayResponse"]
    currencies = sender_contract.currency_groups(limits)
    lines = [
        "## The request senders make",
        "",
        "Everything a sender's engineers need, read from the function's own limits and answers.",
        "",
        "`POST` the `ApiEndpoint` output with `Content-Type: application/json`, signed per "
        "[Standard Webhooks](https://www.standardwebhooks.com/): headers `webhook-id` (1-256 printable "
        "ASCII characters, the same on every retry of a delivery), `webhook-timestamp` (Unix seconds, "
        f"at most {limits.tolerance_seconds} s from the receiver's clock either way) and "
        "`webhook-signature` (`v1,<base64 HMAC-SHA256 of \"<webhook-id>.<webhook-timestamp>.<raw "
        "body>\">`, keyed with the base64-decoded text after `whsec_`). The secret is in the "
        "`SigningSecretArn` output (`{\"current\": \"<base64>\"}`, and `\"previous\"` during a "
        "rotation, when either signs). A delivery retried with the same `webhook-id` is stored once and "
        "answered with the original response.",
        "",
        "### The body",
        "",
    ]
    lines += table(["Field", "Rule"], [
        (code("transactionId"), f"required string, 1 to {limits.transaction_id_max_length} characters matching "
                                f"{code(limits.transaction_id_pattern)}"),
        (code("amount"), f"required JSON number (not a string), greater than 0 and at most "
                         f"{limits.max_amount:,f}, with at most the currency's decimals (below); stored as "
                         "an exact decimal"),
        (code("currency"), f"required ISO 4217 code, one of the {len(limits.currency_minor_units)} below"),
        (code("status"), "optional, one of " + ", ".join(code(s) for s in limits.statuses)),
        (code("metadata"), f"optional JSON object (`null` = absent), at most {limits.metadata_max_bytes:,} "
                           "bytes as compact UTF-8 JSON"),
        ("the whole body", f"at most {limits.max_body_bytes:,} bytes; JSON nested at most "
                           f"{limits.max_json_depth} levels deep (the top-level object counts); no duplicate "
                           "keys, `NaN` or `Infinity`"),
    ])
    lines += ["What each `status` means:", ""]
    lines += table(["Status", "Meaning"], [(code(s), sender_contract.in_words(s)) for s in limits.statuses])
    lines += ["Decimals allowed in `amount`, by currency (`1.50` USD is accepted, `1.5` JPY and `1.005` USD "
              "are not):", ""]
    lines += table(["Decimals", "Currencies"], [(str(digits), " ".join(codes)) for digits, codes in currencies])
    lines += [
        "### Answers",
        "",
        "`200 {\"message\", \"transactionId\", \"timestamp\"}` once the transaction is stored (and for a "
        "retried delivery already stored). Anything else is `{\"error\": <code>, \"message\": <text>}`; "
        "nothing is stored unless the answer is 200.",
        "",
    ]
    lines += table(["Status", "`error`", "Message", "What the sender does"],
                   [(str(e.status), code(e.code), code(e.message), sender_contract.what_to_do(e.status))
                    for e in errors])
    lines += ["API Gateway answers some requests itself, before the function, in the same format:", ""]
    lines += table(["Response type", "Body"],
                   [(code(r["ResponseType"]), code(next(iter(r["ResponseTemplates"].values()))))
                    for r in responses])
    lines += ["It also validates the body against this JSON Schema (the template's request model) first:", ""]
    for model in models:
        schema = model["Schema"]
        schema = json.loads(schema) if isinstance(schema, str) else schema
        lines += ["```json", json.dumps(schema, indent=2), "```", ""]
    return lines


def _files(file_names: Sequence[str]) -> list[str]:
    return [
        "## Files in this bundle",
        "",
        *[f"- `{name}`" for name in file_names],
        "",
        "`manifest.json` lists each other file's sha256 and size, the generator's version and the "
        "git commit it was generated from (`-dirty`: uncommitted changes). Check the bundle before "
        "using it: from a checkout of the generator, `webhook-templates verify <this folder>` (exit 0, "
        "or 1 naming each file that differs, is missing or was added); without it, from this folder "
        "(this checks the listed files, not extra ones):",
        "",
        "```sh",
        "jq -r '.files[] | \"\\(.sha256)  \\(.path)\"' manifest.json | sha256sum -c -",
        "```",
        "",
    ]


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
    lines = [
        "# Handoff: transaction webhook stack",
        "",
        f"Generated by webhook-templates {__version__} from the template beside it; do not edit. "
        "Regenerate with `make template` in the repository.",
        "",
    ]
    for section in (
        _purpose(body),
        _architecture(body, graph, svg_name, path_svg_name),
        _parameters(body, environments),
        _outputs(body),
        _deploying(body, environments, template_bytes),
        _cost(environments),
        releases.section(body, environments),
        _permissions(body),
        _key_and_secret_access(body),
        _skips(body),
        _retained(body),
        streaming.section(body),
        _contract(body, limits, errors),
        _files(file_names),
    ):
        lines += section
    return "\n".join(lines).rstrip("\n") + "\n"
