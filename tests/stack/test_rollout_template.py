"""Published versions, the live alias, CodeDeploy's traffic shifting and its rollback alarms."""

from __future__ import annotations

import re
from typing import Any

import pytest
from template_helpers import of_type, props

from support.environments import SHIPPED as ENVIRONMENTS
from webhook_templates.config import (
    DEPLOYMENT_PREFERENCES,
    NUMERIC_BOUNDS,
    SIGNING_SECRET_ARN_MAX_LENGTH,
    ConfigError,
    EnvironmentConfig,
    parse_environments,
)
from webhook_templates.handoff import releases
from webhook_templates.handoff.render import template_dict
from webhook_templates.stack import function, naming, parameters
from webhook_templates.stack.handler_artifact import HandlerArtifact
from webhook_templates.stack.template import build_template

ALIAS = {"Ref": naming.ALIAS_ID}


def version_id(resources: dict[str, Any]) -> str:
    (logical_id,) = of_type(resources, "AWS::Lambda::Version")
    return logical_id


def built(handler: HandlerArtifact) -> dict[str, Any]:
    return template_dict(build_template(handler))["Resources"]


# --- the published version --------------------------------------------------------

def test_one_version_of_the_function_whose_id_carries_a_hash(resources: dict[str, Any]) -> None:
    logical_id = version_id(resources)
    assert re.fullmatch(naming.VERSION_PREFIX + r"[0-9a-f]{10}", logical_id)
    version = props(resources, logical_id)
    assert version["FunctionName"] == {"Ref": naming.FUNCTION_ID}
    assert version["Description"]["Fn::Sub"].startswith(logical_id.removeprefix(naming.VERSION_PREFIX) + " ")


def test_changed_handler_code_publishes_a_new_version(handler_artifact: HandlerArtifact,
                                                      resources: dict[str, Any]) -> None:
    changed = HandlerArtifact.from_source(handler_artifact.source + "\nRELEASE_MARKER = 2\n")

    assert version_id(built(changed)) != version_id(resources)


def test_changed_function_configuration_publishes_a_new_version(handler_artifact: HandlerArtifact) -> None:
    webhook = function.webhook_function(handler_artifact)
    before = function.function_version(webhook).title
    webhook.MemorySize = 1024  # a template edit, e.g. a literal instead of the parameter

    assert function.function_version(webhook).title != before


def test_unrelated_changes_keep_the_version(handler_artifact: HandlerArtifact, resources: dict[str, Any]) -> None:
    """A rebuild must not start a canary."""
    assert version_id(built(handler_artifact)) == version_id(resources)


def test_version_description_carries_every_versioned_parameter(resources: dict[str, Any]) -> None:
    """Parameter values cannot change the template, so they change the version's description,
    and CloudFormation replaces a version whose description changes."""
    description = props(resources, version_id(resources))["Description"]["Fn::Sub"]
    assert set(re.findall(r"\$\{(\w+)\}", description)) == {
        "LambdaRuntime", "LambdaMemorySize", "LambdaTimeout", "SigningSecretArn", "SnapStart",
        "DeliveryRetentionDays",
    }


def test_longest_version_description_fits_lambdas_limit(resources: dict[str, Any]) -> None:
    description = props(resources, version_id(resources))["Description"]["Fn::Sub"]
    arn = "arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:"
    arn += "s" * (SIGNING_SECRET_ARN_MAX_LENGTH - len(arn))
    EnvironmentConfig(name="x1", signing_secret_arn=arn)  # the longest the config accepts
    longest = {"LambdaRuntime": "python3.14", "LambdaMemorySize": "10240", "LambdaTimeout": "28",
               "SnapStart": "false", "SigningSecretArn": arn,
               "DeliveryRetentionDays": str(NUMERIC_BOUNDS["delivery_retention_days"].high)}
    rendered = re.sub(r"\$\{(\w+)\}", lambda m: longest[m.group(1)], description)
    assert len(rendered) <= 256


# --- the live alias, and what calls it ----------------------------------------------

def test_live_alias_points_at_the_published_version(resources: dict[str, Any]) -> None:
    alias = resources[naming.ALIAS_ID]
    assert alias["Type"] == "AWS::Lambda::Alias"
    assert alias["Properties"]["Name"] == "live"
    assert alias["Properties"]["FunctionVersion"] == {"Fn::GetAtt": [version_id(resources), "Version"]}
    assert alias["UpdatePolicy"] == {"CodeDeployLambdaAliasUpdate": {
        "ApplicationName": {"Ref": naming.CODEDEPLOY_APPLICATION_ID},
        "DeploymentGroupName": {"Ref": naming.DEPLOYMENT_GROUP_ID},
    }}


def test_api_integration_and_permission_target_the_alias(resources: dict[str, Any]) -> None:
    uri = props(resources, "WebhookPostMethod")["Integration"]["Uri"]["Fn::Sub"]
    assert uri[1] == {"Function": ALIAS}
    assert props(resources, "ApiInvokePermission")["FunctionName"] == ALIAS
    # Nothing invokes $LATEST: the function's own ARN reaches only CodeDeploy's role.
    function_arn = {"Fn::GetAtt": [naming.FUNCTION_ID, "Arn"]}
    users = [logical_id for logical_id, resource in resources.items() if function_arn in _nodes(resource)]
    assert users == [naming.CODEDEPLOY_ROLE_ID]


def _nodes(node: Any) -> list[Any]:
    if isinstance(node, dict):
        return [node, *(n for value in node.values() for n in _nodes(value))]
    if isinstance(node, list):
        return [node, *(n for value in node for n in _nodes(value))]
    return [node]


def test_snap_start_on_published_versions_only_when_configured(resources: dict[str, Any]) -> None:
    assert props(resources, naming.FUNCTION_ID)["SnapStart"] == {"Fn::If": [
        parameters.USE_SNAP_START, {"ApplyOn": "PublishedVersions"}, {"Ref": "AWS::NoValue"}]}


def test_provisioned_concurrency_on_the_alias_only_when_configured(body: dict[str, Any]) -> None:
    """On the alias, so it follows ``live`` to each new version; absent (not 0, which Lambda refuses) by default."""
    assert props(body["Resources"], naming.ALIAS_ID)["ProvisionedConcurrencyConfig"] == {"Fn::If": [
        parameters.HAS_PROVISIONED_CONCURRENCY,
        {"ProvisionedConcurrentExecutions": {"Ref": "ProvisionedConcurrency"}},
        {"Ref": "AWS::NoValue"}]}
    assert body["Conditions"][parameters.HAS_PROVISIONED_CONCURRENCY] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "ProvisionedConcurrency"}, 0]}]}
    parameter = body["Parameters"]["ProvisionedConcurrency"]
    assert (parameter["Type"], parameter["Default"], parameter["MinValue"], parameter["MaxValue"]) == (
        "Number", "0", 0, 1000)
    # Only the alias carries it: the function and its version (hence the canary) do not change with it.
    users = [logical_id for logical_id, resource in body["Resources"].items()
             if {"Ref": "ProvisionedConcurrency"} in _nodes(resource)]
    assert users == [naming.ALIAS_ID]


def test_parameter_file_carries_provisioned_concurrency_of_an_environment_that_sets_it() -> None:
    (qa,) = parse_environments("[qa]\nreserved_concurrency = 20\nprovisioned_concurrency = 5\n").values()
    values = {p["ParameterKey"]: p["ParameterValue"] for p in parameters.parameter_file(qa)}
    assert values["ProvisionedConcurrency"] == "5"
    assert all({"ParameterKey": "ProvisionedConcurrency", "ParameterValue": "0"} in parameters.parameter_file(config)
               for config in ENVIRONMENTS.values()), "no shipped environment pays for it"


# --- CodeDeploy: traffic shifting with automatic rollback ---------------------------

def test_application_is_for_lambda(resources: dict[str, Any]) -> None:
    application = props(resources, naming.CODEDEPLOY_APPLICATION_ID)
    assert application["ComputePlatform"] == "Lambda"
    assert application["ApplicationName"] == {"Fn::Sub": "webhook-processor-${Environment}"}


def test_deployment_group_rolls_back_on_failure_and_on_the_rollback_alarms(resources: dict[str, Any]) -> None:
    group = props(resources, naming.DEPLOYMENT_GROUP_ID)
    assert group["ApplicationName"] == {"Ref": naming.CODEDEPLOY_APPLICATION_ID}
    assert group["DeploymentConfigName"] == {"Ref": "DeploymentPreference"}
    assert group["DeploymentStyle"] == {"DeploymentType": "BLUE_GREEN", "DeploymentOption": "WITH_TRAFFIC_CONTROL"}
    assert group["ServiceRoleArn"] == {"Fn::GetAtt": [naming.CODEDEPLOY_ROLE_ID, "Arn"]}
    assert group["AutoRollbackConfiguration"] == {
        "Enabled": True, "Events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]}
    assert group["AlarmConfiguration"] == {"Enabled": True, "Alarms": [
        {"Name": {"Ref": "FunctionErrorsAlarm"}}, {"Name": {"Ref": "Api5xxRateAlarm"}}]}


def test_rollback_alarms_are_the_functions_errors_and_the_apis_5xx_rate(resources: dict[str, Any]) -> None:
    watched = {props(resources, alarm_id)["MetricName"]: props(resources, alarm_id)["Namespace"]
               for alarm_id in naming.ROLLBACK_ALARMS}
    assert watched == {"Errors": "AWS/Lambda", "5XXError": "AWS/ApiGateway"}


@pytest.mark.parametrize(("env", "preference"), [
    ("prod", "CodeDeployDefault.LambdaCanary10Percent5Minutes"),
    ("staging", "CodeDeployDefault.LambdaLinear10PercentEvery1Minute"),
    ("dev", "CodeDeployDefault.LambdaAllAtOnce"),
])
def test_deployment_preference_per_environment(env: str, preference: str) -> None:
    values = {p["ParameterKey"]: p["ParameterValue"]
              for p in parameters.parameter_file(ENVIRONMENTS[env])}
    assert values["DeploymentPreference"] == preference
    assert preference in DEPLOYMENT_PREFERENCES  # the config accepts only CodeDeploy's Lambda configurations


# --- CodeDeploy's role ------------------------------------------------------------

def test_codedeploy_role_is_assumed_by_codedeploy_for_this_account_only(resources: dict[str, Any]) -> None:
    role = props(resources, naming.CODEDEPLOY_ROLE_ID)
    assert "ManagedPolicyArns" not in role
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "codedeploy.amazonaws.com"}
    assert trust["Action"] == ["sts:AssumeRole"]
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}


def test_codedeploy_role_may_shift_only_this_alias_and_read_only_the_rollback_alarms(
    resources: dict[str, Any]
) -> None:
    (always,) = props(resources, naming.CODEDEPLOY_ROLE_ID)["Policies"]
    statements = {st["Sid"]: st for st in always["PolicyDocument"]["Statement"]}
    assert set(statements) == {"ShiftAliasTraffic", "ReadRollbackAlarms"}
    shift = statements["ShiftAliasTraffic"]
    assert shift["Action"] == ["lambda:GetAlias", "lambda:UpdateAlias", "lambda:GetProvisionedConcurrencyConfig"]
    assert shift["Resource"] == [{"Fn::GetAtt": [naming.FUNCTION_ID, "Arn"]},
                                 {"Fn::Sub": "${" + naming.FUNCTION_ID + ".Arn}:*"}]
    alarms = statements["ReadRollbackAlarms"]
    assert alarms["Action"] == ["cloudwatch:DescribeAlarms"]
    assert alarms["Resource"] == [{"Fn::GetAtt": [alarm_id, "Arn"]} for alarm_id in naming.ROLLBACK_ALARMS]


# --- per-environment release settings ---------------------------------------------

def test_release_settings_default_to_the_safe_choice() -> None:
    config = EnvironmentConfig(name="x1")
    assert config.deployment_preference == "CodeDeployDefault.LambdaCanary10Percent5Minutes"
    assert config.rollback_monitoring_minutes > 0
    assert config.snap_start is False
    assert config.provisioned_concurrency == 0


@pytest.mark.parametrize(("settings", "named", "accepted"), [
    ({"runtime": "python3.11", "snap_start": True}, "snap_start=True", "python3.12, python3.13"),
    ({"deployment_preference": "CodeDeployDefault.OneAtATime"}, "deployment_preference", "LambdaAllAtOnce"),
    ({"rollback_monitoring_minutes": 181}, "rollback_monitoring_minutes=181", "0 to 180"),
    ({"signing_secret_arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:" + "s" * 160},
     "signing_secret_arn", "at most 200 characters"),
    # Lambda supports SnapStart or provisioned concurrency on a version, never both.
    ({"runtime": "python3.12", "snap_start": True, "provisioned_concurrency": 2}, "provisioned_concurrency=2",
     "0 with snap_start=true (Lambda does not support SnapStart with provisioned concurrency)"),
    # Lambda allocates no more provisioned concurrency than the function's reserved concurrency.
    ({"reserved_concurrency": 10, "provisioned_concurrency": 11}, "provisioned_concurrency=11",
     "an integer from 0 to reserved_concurrency=10 (Lambda refuses more provisioned than reserved concurrency)"),
    ({"provisioned_concurrency": 1001}, "provisioned_concurrency=1001", "an integer from 0 (none) to 1000"),
    ({"provisioned_concurrency": True}, "provisioned_concurrency=True", "an integer from 0 (none) to 1000"),
])
def test_invalid_release_settings_are_refused_naming_what_is_accepted(
    settings: dict[str, Any], named: str, accepted: str
) -> None:
    with pytest.raises(ConfigError) as error:
        EnvironmentConfig(name="x1", **settings)
    assert named in str(error.value) and accepted in str(error.value)


def test_snap_start_is_accepted_from_python_3_12() -> None:
    assert EnvironmentConfig(name="x1", runtime="python3.12", snap_start=True).snap_start


@pytest.mark.parametrize(("reserved", "provisioned"), [(10, 10), (0, 1000), (50, 1)])
def test_provisioned_concurrency_up_to_reserved_or_without_reserved_is_accepted(
    reserved: int, provisioned: int
) -> None:
    """Equal to reserved is what Lambda allows; reserved 0 here means none (the unreserved pool), not a cap."""
    config = EnvironmentConfig(name="x1", reserved_concurrency=reserved, provisioned_concurrency=provisioned)
    assert config.provisioned_concurrency == provisioned


def test_provisioned_concurrency_refusal_names_the_file_and_table() -> None:
    with pytest.raises(ConfigError) as error:
        parse_environments("[qa]\nruntime = 'python3.13'\nsnap_start = true\nprovisioned_concurrency = 1\n",
                           "envs.toml")
    assert str(error.value) == ("envs.toml [qa]: provisioned_concurrency=1 is invalid; accepted: 0 with "
                                "snap_start=true (Lambda does not support SnapStart with provisioned concurrency)")


# --- the handoff ----------------------------------------------------------------

def test_handoff_explains_each_environments_rollout_its_rollback_alarms_and_how_to_watch(
    body: dict[str, Any]
) -> None:
    text = "\n".join(releases.section(body, ENVIRONMENTS))
    for name, config in ENVIRONMENTS.items():
        assert f"| {name} | `{config.deployment_preference}` |" in text
    assert "| prod | `CodeDeployDefault.LambdaCanary10Percent5Minutes` | 10 min |" in text
    assert "| dev | `CodeDeployDefault.LambdaAllAtOnce` | none |" in text
    for alarm_id in naming.ROLLBACK_ALARMS:
        assert f"- `{alarm_id}`: {body['Resources'][alarm_id]['Properties']['AlarmDescription']}" in text
    assert "`DEPLOYMENT_FAILURE`, `DEPLOYMENT_STOP_ON_ALARM`" in text
    assert ('aws deploy list-deployments --application-name "webhook-processor-$ENV" --deployment-group-name live'
            in text)
    assert "Environments that set it: none." in text  # the shipped files keep prod's cost as it was


def test_handoff_names_the_environments_that_pay_for_provisioned_concurrency(body: dict[str, Any]) -> None:
    environments = {"dev": ENVIRONMENTS["dev"], "qa": EnvironmentConfig(name="qa", provisioned_concurrency=3)}
    text = "\n".join(releases.section(body, environments))
    assert "`ProvisionedConcurrency=N` keeps N execution environments initialised on the `live` alias" in text
    assert "billed per GB-second (N x memory) for as long as it is configured, whether used or not" in text
    assert "Environments that set it: qa (3)." in text


def test_handoff_has_no_releases_section_for_a_template_without_a_deployment_group(body: dict[str, Any]) -> None:
    resources = {k: v for k, v in body["Resources"].items() if v["Type"] != "AWS::CodeDeploy::DeploymentGroup"}
    assert releases.section({**body, "Resources": resources}, ENVIRONMENTS) == []
