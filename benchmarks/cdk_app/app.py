"""The webhook stack as a CDK v2 app: the peer ``make bench`` times ``webhook-templates render`` against.

Declares what our template does, resource for resource (the same types and counts, under the
same logical IDs but for the hash suffixes, which here hash CDK's form of the properties): the KMS
key and alias, the transactions table (its stream optional) and the deliveries table (TTL on
``expiresAt``), the signing secret and its resource policy, two log groups, the function's role,
the Lambda function with the handler inlined, its published version (a hash of its properties in
the logical ID) and ``live`` alias (CodeDeploy alias update policy), four alarms, the CodeDeploy
role, application and deployment group, the REST API with its resource, model, validator, five
gateway responses, POST method and deployment (a hash of the API definition in its logical ID), the
optional API Gateway logging role and account settings, stage and invoke permission. Also the same
parameters (types, defaults, constraints; no descriptions or console grouping), the conditions that
include or shape resources and the outputs (the stream's only when it exists). No tags: ours are
stack tags, given at deploy time, and ``Tags.of`` would write them onto every resource. All
resources are L1 constructs (CfnXxx) so the synth does no more work than ours; CDK's
``PolicyDocument`` builds the policies. aws-cdk-lib's built-in template validation stays on, as
in a default ``cdk synth`` (about 11 s of a 13 s synth with aws-cdk-lib 2.275 here;
``builtin_cloud_formation_validation=False`` turns it off, and render is then ~6x faster).

The handler is inlined as our template inlines it (comments, docstrings and type hints stripped)
and the model is our request schema: both come from ``webhook_templates.stack.handler_artifact`` and
``.contract``, which need only the standard library, and are computed inside the timed synth as in
a render. It runs only in ``.venv-cdk`` (aws-cdk-lib needs Node.js for jsii), never in ``make test``.

    .venv-cdk/bin/python benchmarks/cdk_app/app.py [--out DIR] [--runs N]

Each run builds a new App and calls ``app.synth()``; the last line printed is JSON with the
median ms of those runs in this process (``synth_ms``) and the stack's resource count.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_dynamodb as ddb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as sm

ROOT = Path(__file__).resolve().parents[2]
HANDLER = ROOT / "handler" / "app.py"
# Modules that import no troposphere: .venv-cdk has none, and the inlined code, the model and the
# rollback alarms' IDs must be exactly ours, not a second implementation of them.
sys.path.insert(0, str(ROOT / "src"))
from webhook_templates.metrics import API_5XX_ALARM_ID, FUNCTION_ERRORS_ALARM_ID  # noqa: E402
from webhook_templates.stack.contract import GATEWAY_ERRORS, request_schema  # noqa: E402
from webhook_templates.stack.handler_artifact import HandlerArtifact  # noqa: E402

JSON = "application/json"
RETENTION_DAYS = ["1", "3", "5", "7", "14", "30", "60", "90", "120", "150", "180", "365", "400", "545", "731",
                  "1096", "1827", "2192", "2557", "2922", "3288", "3653"]
BOOLEAN = {"default": "false", "allowed_values": ["true", "false"]}
#: Name -> CfnParameter keywords (type String unless given), as in our template's Parameters.
PARAMETERS: dict[str, dict[str, Any]] = {
    "Environment": {"allowed_pattern": "^[a-z][a-z0-9-]{1,15}$",
                    "constraint_description": "2-16 lowercase letters, digits or '-'"},
    "LambdaRuntime": {"default": "python3.13", "allowed_values": ["python3.11", "python3.12", "python3.13"]},
    "LambdaMemorySize": {"type": "Number", "default": 256, "min_value": 128, "max_value": 10240},
    "LambdaTimeout": {"type": "Number", "default": 10, "min_value": 6, "max_value": 28},
    "ReservedConcurrency": {"type": "Number", "default": 0, "min_value": 0, "max_value": 1000},
    "ThrottleRateLimit": {"type": "Number", "default": 50, "min_value": 1, "max_value": 10000},
    "ThrottleBurstLimit": {"type": "Number", "default": 100, "min_value": 1, "max_value": 5000},
    "LogRetentionDays": {"type": "Number", "default": 30, "allowed_values": RETENTION_DAYS},
    "SigningSecretArn": {"default": "", "allowed_pattern": "^$|^arn:aws[a-z-]*:secretsmanager:.+$",
                         "constraint_description": "empty or a Secrets Manager secret ARN"},
    "SigningSecretReaders": {"type": "CommaDelimitedList", "default": "", "allowed_pattern":
                             r"^$|^arn:aws[a-z-]*:iam::\d{12}:(role|user)/[A-Za-z0-9+=.@_/*-]{1,512}$",
                             "constraint_description": "IAM role or user ARNs"},
    "AlarmTopicArn": {"default": "", "allowed_pattern": "^$|^arn:aws[a-z-]*:sns:.+$",
                      "constraint_description": "empty or an SNS topic ARN"},
    "Production": BOOLEAN,
    "DeploymentPreference": {"default": "CodeDeployDefault.LambdaCanary10Percent5Minutes"},
    "SnapStart": BOOLEAN,
    "ProvisionedConcurrency": {"type": "Number", "default": 0, "min_value": 0, "max_value": 1000},
    "DeliveryRetentionDays": {"type": "Number", "default": 35, "min_value": 1, "max_value": 3650},
    "TransactionStream": BOOLEAN,
    "RefusalAlarmThreshold": {"type": "Number", "default": 5, "min_value": 1, "max_value": 10000},
    "Edge4xxAlarmPercent": {"type": "Number", "default": 10, "min_value": 1, "max_value": 100},
    "Edge4xxAlarmMinRequests": {"type": "Number", "default": 20, "min_value": 1, "max_value": 100000},
    "DeployRole": {"default": "", "allowed_pattern": r"^$|^[A-Za-z0-9_+=,.@-]{1,64}$"},
    "PermissionsBoundary": {"default": "", "allowed_pattern": r"^$|^[A-Za-z0-9_+=,.@-]{1,128}$"},
}
#: Parameters a published version cannot capture other than by its description (ours lists the same).
VERSIONED_PARAMETERS = ("LambdaRuntime", "LambdaMemorySize", "LambdaTimeout", "DeliveryRetentionDays",
                        "SigningSecretArn", "SnapStart")
KEY_SERVICES = ("dynamodb", "secretsmanager", "lambda")
KEY_USE = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey",
           "kms:GenerateDataKeyWithoutPlaintext", "kms:DescribeKey"]
KEY_ADMINISTRATION = [f"kms:{action}" for action in (
    "DescribeKey", "GetKeyPolicy", "PutKeyPolicy", "ListKeyPolicies", "EnableKey", "DisableKey",
    "UpdateKeyDescription", "GetKeyRotationStatus", "EnableKeyRotation", "DisableKeyRotation", "RotateKeyOnDemand",
    "ListKeyRotations", "TagResource", "UntagResource", "ListResourceTags", "CreateAlias", "UpdateAlias",
    "DeleteAlias", "ListGrants", "RevokeGrant", "ScheduleKeyDeletion", "CancelKeyDeletion")]
ACCESS_LOG_FIELDS = {
    "requestId": "requestId", "requestTime": "requestTimeEpoch", "ip": "identity.sourceIp",
    "httpMethod": "httpMethod", "resourcePath": "resourcePath", "status": "status",
    "responseLength": "responseLength", "latencyMs": "responseLatency", "integrationLatencyMs": "integration.latency",
    "integrationStatus": "integration.status", "error": "error.responseType",
    "validationError": "error.validationErrorString", "xrayTraceId": "xrayTraceId",
}
#: Logical ID -> (description, namespace, metric, threshold, statistic, period, evaluation periods, datapoints).
ALARMS = {
    "FunctionErrorsAlarm": ("Function errors", "AWS/Lambda", "Errors", 1, "Sum", 60, 5, 1),
    "FunctionThrottlesAlarm": ("Function throttled", "AWS/Lambda", "Throttles", 1, "Sum", 60, 5, 1),
    "Api5xxRateAlarm": ("Over 1% of requests got 5XX", "AWS/ApiGateway", "5XXError", 0.01,
                        "Average", 300, 1, 1),
    "ApiLatencyP99Alarm": ("API p99 latency over 2 s", "AWS/ApiGateway", "Latency", 2000, "p99",
                           300, 3, 2),
}
ROLLBACK_ALARMS = (FUNCTION_ERRORS_ALARM_ID, API_5XX_ALARM_ID)


def digest(stack: cdk.Stack, resources: list[cdk.CfnResource]) -> str:
    """A short hash of ``resources``' resolved properties, as ours names versions and deployments.

    ``_cfn_properties`` resolved by the stack is what CDK's own ``Function.currentVersion`` hashes.
    """
    definition = [[resource.node.id, stack.resolve(resource._cfn_properties)] for resource in resources]
    return hashlib.sha256(json.dumps(definition, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:10]


def build_stack(app: cdk.App) -> cdk.Stack:
    """The webhook stack's resources under ``app``."""
    synthesizer = cdk.DefaultStackSynthesizer(generate_bootstrap_version_rule=False)  # ours has no bootstrap
    stack = cdk.Stack(app, "WebhookStack", synthesizer=synthesizer)
    handler = HandlerArtifact.from_path(HANDLER)
    p = {name: cdk.CfnParameter(stack, name, **{"type": "String", **spec}) for name, spec in PARAMETERS.items()}
    env = p["Environment"].value_as_string
    fn = cdk.Fn

    conditions: dict[str, cdk.CfnCondition] = {}

    def condition(name: str, expression: cdk.ICfnConditionExpression) -> str:
        """``name``, declared as a condition: what ``Fn::If`` takes."""
        conditions[name] = cdk.CfnCondition(stack, name, expression=expression)
        return name

    is_production = condition("IsProduction", fn.condition_or(fn.condition_equals(p["Environment"].value, "prod"),
                                                               fn.condition_equals(p["Production"].value, "true")))
    create_secret = condition("CreateSigningSecret", fn.condition_equals(p["SigningSecretArn"].value, ""))
    has_topic = condition("HasAlarmTopic", fn.condition_not(fn.condition_equals(p["AlarmTopicArn"].value, "")))
    has_reserved = condition("HasReservedConcurrency",
                             fn.condition_not(fn.condition_equals(p["ReservedConcurrency"].value, 0)))
    has_readers = condition("HasSigningSecretReaders", fn.condition_not(fn.condition_equals(
        fn.join("", p["SigningSecretReaders"].value_as_list), "")))
    snap_start = condition("UseSnapStart", fn.condition_equals(p["SnapStart"].value, "true"))
    has_provisioned = condition("HasProvisionedConcurrency",
                                fn.condition_not(fn.condition_equals(p["ProvisionedConcurrency"].value, 0)))
    has_stream = condition("HasTransactionStream", fn.condition_equals(p["TransactionStream"].value, "true"))
    has_deploy_role = condition("HasDeployRole", fn.condition_not(fn.condition_equals(p["DeployRole"].value, "")))
    has_boundary = condition("HasPermissionsBoundary",
                             fn.condition_not(fn.condition_equals(p["PermissionsBoundary"].value, "")))
    deploy_role_arn = f"arn:{stack.partition}:iam::{stack.account}:role/{p['DeployRole'].value_as_string}"
    boundary = fn.condition_if(
        has_boundary, f"arn:{stack.partition}:iam::{stack.account}:policy/{p['PermissionsBoundary'].value_as_string}",
        cdk.Aws.NO_VALUE).to_string()

    def retained(resource: cdk.CfnResource, when: str | None = None) -> None:
        resource.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
        if when:
            resource.cfn_options.condition = conditions[when]

    def log_group_arn(name: str) -> str:
        return f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:{name}"

    def assumable_by(service: str) -> Any:
        return iam.PolicyDocument(statements=[iam.PolicyStatement(
            sid="AssumedBy" + service.split(".")[0].capitalize(), actions=["sts:AssumeRole"],
            principals=[iam.ServicePrincipal(service)],
            conditions={"StringEquals": {"aws:SourceAccount": stack.account}})]).to_json()

    # As ours: IAM reads an account ID as its root ARN; the deploy role beside it when named.
    this_account = iam.ArnPrincipal(fn.condition_if(has_deploy_role, [stack.account, deploy_role_arn],
                                                    stack.account).to_string())
    through_services = {"kms:ViaService": [f"{service}.{stack.region}.amazonaws.com" for service in KEY_SERVICES],
                        "kms:CallerAccount": stack.account}
    function_log_group = f"/aws/lambda/webhook-processor-{env}"
    access_log_group = f"/aws/apigateway/webhook-api-{env}"
    key = kms.CfnKey(
        stack, "EncryptionKey", enable_key_rotation=True, pending_window_in_days=7,
        description="Webhook key: encrypts the transactions table, logs, signing secret and function environment",
        key_policy=iam.PolicyDocument(statements=[
            iam.PolicyStatement(sid="AccountAdministersKey", principals=[this_account], actions=KEY_ADMINISTRATION,
                                resources=["*"]),
            iam.PolicyStatement(
                sid="CloudWatchLogsEncryptsStackLogGroups", actions=KEY_USE, resources=["*"],
                principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
                conditions={"ArnLike": {"kms:EncryptionContext:aws:logs:arn": [
                    log_group_arn(function_log_group), log_group_arn(access_log_group)]}}),
            iam.PolicyStatement(sid="AccountUsesKeyThroughServices", principals=[this_account], actions=KEY_USE,
                                resources=["*"], conditions={"StringEquals": through_services}),
            iam.PolicyStatement(sid="AccountGrantsKeyToServiceResources", principals=[this_account],
                                actions=["kms:CreateGrant"], resources=["*"],
                                conditions={"StringEquals": through_services,
                                            "Bool": {"kms:GrantIsForAWSResource": "true"}}),
        ]).to_json())
    retained(key)
    kms.CfnAlias(stack, "EncryptionKeyAlias", alias_name=f"alias/webhook-lambda-{env}", target_key_id=key.ref)

    def data_table(logical_id: str, name: str, keys: dict[str, str], **extra: Any) -> ddb.CfnTable:
        """A retained, encrypted, recoverable on-demand table keyed by ``keys`` (name -> S or N; hash first)."""
        created = ddb.CfnTable(
            stack, logical_id, table_name=name, billing_mode="PAY_PER_REQUEST",
            attribute_definitions=[ddb.CfnTable.AttributeDefinitionProperty(attribute_name=key_name,
                                                                            attribute_type=kind)
                                   for key_name, kind in keys.items()],
            key_schema=[ddb.CfnTable.KeySchemaProperty(attribute_name=key_name, key_type=key_type)
                        for key_name, key_type in zip(keys, ("HASH", "RANGE"), strict=False)],
            point_in_time_recovery_specification=ddb.CfnTable.PointInTimeRecoverySpecificationProperty(
                point_in_time_recovery_enabled=True),
            sse_specification=ddb.CfnTable.SSESpecificationProperty(sse_enabled=True, sse_type="KMS",
                                                                    kms_master_key_id=key.attr_arn),
            deletion_protection_enabled=fn.condition_if(is_production, True, False), **extra)
        retained(created)
        return created

    table = data_table("TransactionsTable", f"transactions-{env}", {"transactionId": "S", "timestamp": "N"},
                       stream_specification=fn.condition_if(has_stream, {"StreamViewType": "NEW_IMAGE"},
                                                            cdk.Aws.NO_VALUE))
    deliveries = data_table("DeliveriesTable", f"webhook-deliveries-{env}", {"deliveryId": "S"},
                            time_to_live_specification=ddb.CfnTable.TimeToLiveSpecificationProperty(
                                attribute_name="expiresAt", enabled=True))
    secret = sm.CfnSecret(
        stack, "SigningSecret", name=f"webhook-signing-secret-{env}", kms_key_id=key.attr_arn,
        description='Standard Webhooks signing secret for the transaction webhook; JSON {"current": ..., '
                    '"previous": ...}',
        generate_secret_string=sm.CfnSecret.GenerateSecretStringProperty(
            secret_string_template="{}", generate_string_key="current", password_length=48,
            exclude_punctuation=True))
    retained(secret, create_secret)
    secret_arn = cdk.Token.as_string(fn.condition_if(create_secret, secret.ref, p["SigningSecretArn"].value_as_string))
    fn_logs = logs.CfnLogGroup(stack, "FunctionLogGroup", log_group_name=function_log_group,
                               retention_in_days=p["LogRetentionDays"].value_as_number, kms_key_id=key.attr_arn)
    api_logs = logs.CfnLogGroup(stack, "ApiAccessLogGroup", log_group_name=access_log_group,
                                retention_in_days=p["LogRetentionDays"].value_as_number, kms_key_id=key.attr_arn)
    for group in (fn_logs, api_logs):
        retained(group)

    policy = iam.PolicyDocument(statements=[
        iam.PolicyStatement(sid="WriteDeliveries", actions=["dynamodb:PutItem"],
                            resources=[table.attr_arn, deliveries.attr_arn]),
        iam.PolicyStatement(sid="ReadDeliveryMarkers", actions=["dynamodb:GetItem", "dynamodb:DescribeTable"],
                            resources=[deliveries.attr_arn]),
        iam.PolicyStatement(sid="ReadLegacyMarkers", actions=["dynamodb:ConditionCheckItem", "dynamodb:GetItem"],
                            resources=[table.attr_arn]),
        iam.PolicyStatement(sid="ReadSigningSecret", actions=["secretsmanager:GetSecretValue"],
                            resources=[secret_arn]),
        iam.PolicyStatement(sid="UseEncryptionKey", actions=["kms:Decrypt", "kms:GenerateDataKey"],
                            resources=[key.attr_arn], conditions={"StringEquals": through_services}),
        iam.PolicyStatement(sid="WriteOwnLogs", actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                            resources=[f"{log_group_arn(function_log_group)}:log-stream:*"]),
        iam.PolicyStatement(sid="WriteTraces", actions=["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                            resources=["*"])])
    role = iam.CfnRole(
        stack, "FunctionRole", role_name=f"webhook-lambda-role-{env}",
        description="Webhook processor: store transactions, read the signing secret, write logs and traces",
        assume_role_policy_document=assumable_by("lambda.amazonaws.com"), permissions_boundary=boundary,
        policies=[iam.CfnRole.PolicyProperty(policy_name="webhook-processor", policy_document=policy.to_json())])
    readers = fn.condition_if(has_readers, fn.split(",", fn.join(",", [
        role.attr_arn, fn.join(",", p["SigningSecretReaders"].value_as_list)])), [role.attr_arn])
    secret_policy = sm.CfnResourcePolicy(
        stack, "SigningSecretPolicy", secret_id=secret.ref, block_public_policy=True,
        resource_policy=iam.PolicyDocument(statements=[iam.PolicyStatement(
            sid="OnlyNamedPrincipalsReadSecret", effect=iam.Effect.DENY, principals=[iam.AnyPrincipal()],
            actions=["secretsmanager:GetSecretValue"], resources=["*"],
            conditions={"ArnNotLike": {"aws:PrincipalArn": readers},
                        "ArnNotEquals": {"aws:PrincipalArn": deploy_role_arn}}),
            iam.PolicyStatement(
                sid="DeployRoleReadsOnlyThroughCloudFormation", effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()], actions=["secretsmanager:GetSecretValue"], resources=["*"],
                conditions={"ArnEquals": {"aws:PrincipalArn": deploy_role_arn},
                            "StringNotEquals": {"aws:CalledViaLast": "cloudformation.amazonaws.com"}}),
        ]).to_json())
    retained(secret_policy, create_secret)
    function = lambda_.CfnFunction(
        stack, "WebhookFunction", function_name=f"webhook-processor-{env}",
        description="Verifies, validates and stores transaction webhooks", runtime=p["LambdaRuntime"].value_as_string,
        architectures=["arm64"], handler="index.lambda_handler", role=role.attr_arn,
        memory_size=p["LambdaMemorySize"].value_as_number, timeout=p["LambdaTimeout"].value_as_number,
        reserved_concurrent_executions=cdk.Token.as_number(fn.condition_if(
            has_reserved, p["ReservedConcurrency"].value_as_number, cdk.Aws.NO_VALUE)),
        code=lambda_.CfnFunction.CodeProperty(zip_file=handler.inline_code()),
        kms_key_arn=key.attr_arn, tracing_config=lambda_.CfnFunction.TracingConfigProperty(mode="Active"),
        environment=lambda_.CfnFunction.EnvironmentProperty(variables={
            "TABLE_NAME": table.ref, "DELIVERIES_TABLE_NAME": deliveries.ref,
            "DELIVERY_RETENTION_DAYS": p["DeliveryRetentionDays"].value_as_string, "SIGNING_SECRET_ARN": secret_arn,
            "ENVIRONMENT": env}),
        snap_start=fn.condition_if(snap_start, {"ApplyOn": "PublishedVersions"}, cdk.Aws.NO_VALUE),
        logging_config=lambda_.CfnFunction.LoggingConfigProperty(
            log_group=fn_logs.ref, log_format="JSON", application_log_level="INFO", system_log_level="WARN"))
    version_hash = digest(stack, [function])
    version = lambda_.CfnVersion(
        stack, f"FunctionVersion{version_hash}", function_name=function.ref,
        description=fn.sub(" ".join([version_hash, *(f"${{{name}}}" for name in VERSIONED_PARAMETERS)])))

    notify = cdk.Token.as_list(fn.condition_if(has_topic, [p["AlarmTopicArn"].value_as_string], cdk.Aws.NO_VALUE))
    alarms = {}
    for logical_id, (description, namespace, metric, threshold, statistic, period, periods, datapoints) \
            in ALARMS.items():
        dimensions = ({"FunctionName": function.ref} if namespace == "AWS/Lambda" else
                      # The environment, not the stage's Ref: the deployment group names these alarms,
                      # and the stage depends (through the integration) on the alias the group shifts.
                      {"ApiName": f"webhook-api-{env}", "Stage": env})
        extended = statistic.startswith("p")
        alarms[logical_id] = cw.CfnAlarm(
            stack, logical_id, alarm_name=f"{cdk.Aws.STACK_NAME}-{logical_id.removesuffix('Alarm')}",
            alarm_description=description, namespace=namespace, metric_name=metric, period=period,
            # Stated only when fewer than the evaluated periods must breach, as ours (CloudWatch's default).
            evaluation_periods=periods, datapoints_to_alarm=datapoints if datapoints != periods else None,
            threshold=threshold,
            comparison_operator="GreaterThanOrEqualToThreshold", treat_missing_data="notBreaching",
            alarm_actions=notify, ok_actions=notify,
            statistic=None if extended else statistic, extended_statistic=statistic if extended else None,
            dimensions=[cw.CfnAlarm.DimensionProperty(name=k, value=v) for k, v in dimensions.items()])
    alarms["DeliveryRefusalsAlarm"] = cw.CfnAlarm(
        stack, "DeliveryRefusalsAlarm", alarm_name=f"{cdk.Aws.STACK_NAME}-DeliveryRefusals",
        alarm_description="Function refused deliveries", threshold=p["RefusalAlarmThreshold"].value_as_number,
        comparison_operator="GreaterThanOrEqualToThreshold", treat_missing_data="notBreaching",
        alarm_actions=notify, ok_actions=notify, namespace="WebhookReceiver", metric_name="deliveries",
        dimensions=[cw.CfnAlarm.DimensionProperty(name="environment", value=env),
                    cw.CfnAlarm.DimensionProperty(name="outcome", value="rejected")],
        statistic="Sum", period=300, evaluation_periods=1)
    api_dimensions = [cw.CfnAlarm.DimensionProperty(name="ApiName", value=f"webhook-api-{env}")]
    alarms["Api4xxRateAlarm"] = cw.CfnAlarm(
        stack, "Api4xxRateAlarm", alarm_name=f"{cdk.Aws.STACK_NAME}-Api4xxRate",
        alarm_description="API Gateway 4XX % of requests", threshold=p["Edge4xxAlarmPercent"].value_as_number,
        comparison_operator="GreaterThanOrEqualToThreshold", treat_missing_data="notBreaching",
        alarm_actions=notify, ok_actions=notify, evaluation_periods=1, metrics=[
            cw.CfnAlarm.MetricDataQueryProperty(
                id="r", return_data=True, expression=fn.sub("IF(n>=${Edge4xxAlarmMinRequests},100*e/n,0)")),
            *(cw.CfnAlarm.MetricDataQueryProperty(
                id=query, return_data=False, metric_stat=cw.CfnAlarm.MetricStatProperty(
                    metric=cw.CfnAlarm.MetricProperty(namespace="AWS/ApiGateway", metric_name=metric,
                                                      dimensions=api_dimensions), period=300, stat="Sum"))
              for query, metric in (("e", "4XXError"), ("n", "Count")))])
    codedeploy_role = iam.CfnRole(
        stack, "CodeDeployRole", assume_role_policy_document=assumable_by("codedeploy.amazonaws.com"),
        permissions_boundary=boundary,
        policies=[iam.CfnRole.PolicyProperty(policy_name="shift-live-alias", policy_document=iam.PolicyDocument(
            statements=[
                iam.PolicyStatement(sid="ShiftAliasTraffic", actions=[
                    "lambda:GetAlias", "lambda:UpdateAlias", "lambda:GetProvisionedConcurrencyConfig"],
                    resources=[function.attr_arn, f"{function.attr_arn}:*"]),
                iam.PolicyStatement(sid="ReadRollbackAlarms", actions=["cloudwatch:DescribeAlarms"],
                                    resources=[alarms[name].attr_arn for name in ROLLBACK_ALARMS])]).to_json())])
    application = codedeploy.CfnApplication(stack, "CodeDeployApplication",
                                            application_name=f"webhook-processor-{env}", compute_platform="Lambda")
    deployment_group = codedeploy.CfnDeploymentGroup(
        stack, "DeploymentGroup", application_name=application.ref, deployment_group_name="live",
        deployment_config_name=p["DeploymentPreference"].value_as_string, service_role_arn=codedeploy_role.attr_arn,
        deployment_style=codedeploy.CfnDeploymentGroup.DeploymentStyleProperty(
            deployment_type="BLUE_GREEN", deployment_option="WITH_TRAFFIC_CONTROL"),
        alarm_configuration=codedeploy.CfnDeploymentGroup.AlarmConfigurationProperty(
            enabled=True, alarms=[codedeploy.CfnDeploymentGroup.AlarmProperty(name=alarms[name].ref)
                                  for name in ROLLBACK_ALARMS]),
        auto_rollback_configuration=codedeploy.CfnDeploymentGroup.AutoRollbackConfigurationProperty(
            enabled=True, events=["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]))
    alias = lambda_.CfnAlias(
        stack, "LiveAlias", name="live", function_name=function.ref, function_version=version.attr_version,
        provisioned_concurrency_config=fn.condition_if(
            has_provisioned, {"ProvisionedConcurrentExecutions": p["ProvisionedConcurrency"].value_as_number},
            cdk.Aws.NO_VALUE))
    alias.cfn_options.update_policy = cdk.CfnUpdatePolicy(
        code_deploy_lambda_alias_update=cdk.CfnCodeDeployLambdaAliasUpdate(
            application_name=application.ref, deployment_group_name=deployment_group.ref))

    api = apigw.CfnRestApi(stack, "WebhookApi", name=f"webhook-api-{env}",
                           description="Receives signed financial-transaction webhooks",
                           endpoint_configuration=apigw.CfnRestApi.EndpointConfigurationProperty(types=["REGIONAL"]))
    resource = apigw.CfnResource(stack, "WebhookResource", rest_api_id=api.ref, parent_id=api.attr_root_resource_id,
                                 path_part="webhook")
    model = apigw.CfnModel(stack, "TransactionModel", rest_api_id=api.ref, content_type=JSON, name="Transaction",
                           description="A transaction webhook body", schema=request_schema(handler.limits))
    validator = apigw.CfnRequestValidator(stack, "BodyValidator", rest_api_id=api.ref, name="validate-body",
                                          validate_request_body=True, validate_request_parameters=False)
    responses = [apigw.CfnGatewayResponse(
        stack, "GatewayResponse" + "".join(part.capitalize() for part in kind.split("_")), rest_api_id=api.ref,
        response_type=kind, response_templates={JSON: json.dumps({"error": code, "message": message},
                                                                  separators=(",", ":"))})
        for kind, (code, message) in GATEWAY_ERRORS.items()]
    method = apigw.CfnMethod(
        stack, "WebhookPostMethod", rest_api_id=api.ref, resource_id=resource.ref, http_method="POST",
        authorization_type="NONE", request_validator_id=validator.ref, request_models={JSON: model.ref},
        integration=apigw.CfnMethod.IntegrationProperty(
            type="AWS_PROXY", integration_http_method="POST",
            uri=f"arn:{stack.partition}:apigateway:{stack.region}:lambda:path/2015-03-31/functions/"
                f"{alias.ref}/invocations"))
    definition: list[cdk.CfnResource] = [resource, model, validator, *responses, method]
    api_hash = digest(stack, definition)
    deployment = apigw.CfnDeployment(stack, f"ApiDeployment{api_hash}", rest_api_id=api.ref,
                                     description=f"API definition {api_hash}")
    for part in definition:  # a stage must not be deployed before what it serves
        deployment.node.add_dependency(part)
    stage = apigw.CfnStage(
        stack, "ApiStage", rest_api_id=api.ref, deployment_id=deployment.ref, stage_name=env, tracing_enabled=True,
        description="Webhook stage",
        access_log_setting=apigw.CfnStage.AccessLogSettingProperty(
            destination_arn=api_logs.attr_arn,
            format=json.dumps({name: f"$context.{field}" for name, field in ACCESS_LOG_FIELDS.items()},
                              separators=(",", ":"))),
        method_settings=[apigw.CfnStage.MethodSettingProperty(
            http_method="*", resource_path="/*", metrics_enabled=True, logging_level="ERROR",
            data_trace_enabled=False, throttling_rate_limit=p["ThrottleRateLimit"].value_as_number,
            throttling_burst_limit=p["ThrottleBurstLimit"].value_as_number)])
    lambda_.CfnPermission(stack, "ApiInvokePermission", action="lambda:InvokeFunction", function_name=alias.ref,
                          principal="apigateway.amazonaws.com", source_account=stack.account,
                          source_arn=f"arn:{stack.partition}:execute-api:{stack.region}:{stack.account}:"
                                     f"{api.ref}/{stage.ref}/POST/webhook")

    outputs = {
        "ApiEndpoint": ("URL that webhook senders POST to",
                        f"https://{api.ref}.execute-api.{stack.region}.{stack.url_suffix}/{stage.ref}/webhook"),
        "TableName": ("DynamoDB table holding the transactions", table.ref),
        "FunctionName": ("Lambda function processing the webhooks", function.ref),
        "KmsKeyId": ("KMS key encrypting the table, logs and secret", key.ref),
        "SigningSecretArn": ("Secrets Manager secret holding the signing secret", secret_arn),
        "TransactionStreamArn": ("Stream of new transactions", table.attr_stream_arn),
    }
    for name, (description, value) in outputs.items():
        # "Output" in the construct ID: the SigningSecretArn parameter already holds that one.
        output = cdk.CfnOutput(stack, name + "Output", description=description, value=value,
                               export_name=f"{cdk.Aws.STACK_NAME}-{name}",
                               condition=conditions[has_stream] if name == "TransactionStreamArn" else None)
        output.override_logical_id(name)
    return stack


def synth(outdir: str) -> int:
    """Build the app and synthesize it into ``outdir``; the number of resources in the stack."""
    app = cdk.App(outdir=outdir)
    stack = build_stack(app)
    assembly = app.synth()
    template = assembly.get_stack_by_name(stack.stack_name).template
    return len(template["Resources"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="cloud assembly directory (default: a temporary one)")
    parser.add_argument("--runs", type=int, default=1, help="synths to time in this process (default 1)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        times, resources = [], 0
        for run in range(args.runs):
            # From a new App to the written assembly: everything after the imports, as in `cdk synth`.
            started = time.perf_counter()
            resources = synth(f"{args.out or scratch}/run{run}")
            times.append((time.perf_counter() - started) * 1000)
    print(json.dumps({"synth_ms": statistics.median(times), "runs": times, "resources": resources}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
