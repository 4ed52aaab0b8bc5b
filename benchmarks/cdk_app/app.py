"""The webhook stack as a CDK v2 app: the peer ``make bench`` times ``webhook-templates render`` against.

Declares the resources our template does (KMS key and alias, DynamoDB table, signing secret, two
log groups, IAM roles, the Lambda function with the handler inlined, the REST API with its
model, validator, gateway responses, deployment, stage, usage plan, permission and alarms, the
function's published version and ``live`` alias, CodeDeploy's application, role and deployment
group, the secret's resource policy), mostly with L1 constructs so the synth does no more work
than ours; L2 grants for the role.
It runs only in ``.venv-cdk`` (aws-cdk-lib needs Node.js for jsii), never in ``make test``.

    .venv-cdk/bin/python benchmarks/cdk_app/app.py [--out DIR] [--runs N]

Each run builds a new App and calls ``app.synth()``; the last line printed is JSON with the
median ms of those runs in this process (``synth_ms``) and the stack's resource count.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

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

HANDLER = Path(__file__).resolve().parents[2] / "handler" / "app.py"
GATEWAY_RESPONSES = {"BadRequestBody": "BAD_REQUEST_BODY", "Throttled": "THROTTLED",
                     "RequestTooLarge": "REQUEST_TOO_LARGE", "Default4xx": "DEFAULT_4XX", "Default5xx": "DEFAULT_5XX"}


def build_stack(app: cdk.App) -> cdk.Stack:
    """The webhook stack's resources under ``app``."""
    synthesizer = cdk.DefaultStackSynthesizer(generate_bootstrap_version_rule=False)  # ours has no bootstrap
    stack = cdk.Stack(app, "WebhookStack", synthesizer=synthesizer)
    env = cdk.CfnParameter(stack, "Environment", default="staging").value_as_string
    retention = cdk.CfnParameter(stack, "LogRetentionDays", type="Number", default=90).value_as_number
    rate = cdk.CfnParameter(stack, "ThrottleRateLimit", type="Number", default=50).value_as_number
    burst = cdk.CfnParameter(stack, "ThrottleBurstLimit", type="Number", default=100).value_as_number
    topic = cdk.CfnParameter(stack, "AlarmTopicArn", default="").value_as_string

    key = kms.CfnKey(stack, "EncryptionKey", description="Webhook data key", enable_key_rotation=True,
                     pending_window_in_days=30, key_policy=iam.PolicyDocument(statements=[iam.PolicyStatement(
                         sid="AccountAdmin", actions=["kms:*"], resources=["*"],
                         principals=[iam.AccountRootPrincipal()])]).to_json())
    kms.CfnAlias(stack, "EncryptionKeyAlias", alias_name=f"alias/webhook-{env}", target_key_id=key.ref)
    attribute = ddb.CfnTable.AttributeDefinitionProperty
    table = ddb.CfnTable(
        stack, "TransactionsTable", table_name=f"webhook-transactions-{env}", billing_mode="PAY_PER_REQUEST",
        attribute_definitions=[attribute(attribute_name="transactionId", attribute_type="S"),
                               attribute(attribute_name="timestamp", attribute_type="N")],
        key_schema=[ddb.CfnTable.KeySchemaProperty(attribute_name="transactionId", key_type="HASH"),
                    ddb.CfnTable.KeySchemaProperty(attribute_name="timestamp", key_type="RANGE")],
        point_in_time_recovery_specification=ddb.CfnTable.PointInTimeRecoverySpecificationProperty(
            point_in_time_recovery_enabled=True),
        sse_specification=ddb.CfnTable.SSESpecificationProperty(sse_enabled=True, sse_type="KMS",
                                                                kms_master_key_id=key.attr_arn),
        deletion_protection_enabled=True)
    secret = sm.CfnSecret(stack, "SigningSecret", name=f"webhook-signing-{env}", kms_key_id=key.attr_arn,
                          generate_secret_string=sm.CfnSecret.GenerateSecretStringProperty(
                              secret_string_template="{}", generate_string_key="current", password_length=48))
    sm.CfnResourcePolicy(stack, "SigningSecretPolicy", secret_id=secret.ref, block_public_policy=True,
                         resource_policy={"Version": "2012-10-17", "Statement": [{
                             "Sid": "OnlyTheFunction", "Effect": "Deny", "Principal": "*",
                             "Action": "secretsmanager:GetSecretValue", "Resource": "*",
                             "Condition": {"StringNotLike": {"aws:PrincipalArn": [
                                 f"arn:{stack.partition}:iam::{stack.account}:role/webhook-lambda-role-{env}"]}}}]})
    fn_logs = logs.CfnLogGroup(stack, "FunctionLogGroup", log_group_name=f"/aws/lambda/webhook-processor-{env}",
                               retention_in_days=retention, kms_key_id=key.attr_arn)
    api_logs = logs.CfnLogGroup(stack, "ApiAccessLogGroup", log_group_name=f"/aws/apigateway/webhook-{env}",
                                retention_in_days=retention, kms_key_id=key.attr_arn)

    policy = iam.PolicyDocument(statements=[
        iam.PolicyStatement(sid="WriteTransactions", actions=["dynamodb:PutItem"], resources=[table.attr_arn]),
        iam.PolicyStatement(sid="ReadDeliveryMarkers", actions=["dynamodb:GetItem"], resources=[table.attr_arn]),
        iam.PolicyStatement(sid="ReadSigningSecret", actions=["secretsmanager:GetSecretValue"], resources=[secret.ref]),
        iam.PolicyStatement(sid="UseEncryptionKey", actions=["kms:Decrypt", "kms:GenerateDataKey"],
                            resources=[key.attr_arn]),
        iam.PolicyStatement(sid="WriteOwnLogs", actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                            resources=[f"{fn_logs.attr_arn}:log-stream:*"]),
        iam.PolicyStatement(sid="WriteTraces", actions=["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                            resources=["*"])])
    trust = iam.PolicyDocument(statements=[iam.PolicyStatement(
        actions=["sts:AssumeRole"], principals=[iam.ServicePrincipal("lambda.amazonaws.com")])])
    role = iam.CfnRole(stack, "FunctionRole", role_name=f"webhook-lambda-role-{env}",
                       assume_role_policy_document=trust.to_json(),
                       policies=[iam.CfnRole.PolicyProperty(policy_name="webhook-processor",
                                                            policy_document=policy.to_json())])
    function = lambda_.CfnFunction(
        stack, "WebhookFunction", function_name=f"webhook-processor-{env}", runtime="python3.12",
        architectures=["arm64"], handler="index.lambda_handler", role=role.attr_arn, memory_size=256, timeout=10,
        code=lambda_.CfnFunction.CodeProperty(zip_file=HANDLER.read_text(encoding="utf-8")),
        kms_key_arn=key.attr_arn, tracing_config=lambda_.CfnFunction.TracingConfigProperty(mode="Active"),
        environment=lambda_.CfnFunction.EnvironmentProperty(variables={"TABLE_NAME": table.ref,
                                                                        "SIGNING_SECRET_ARN": secret.ref}),
        logging_config=lambda_.CfnFunction.LoggingConfigProperty(log_group=fn_logs.ref, log_format="JSON"))

    # Releases: a published version, the `live` alias API Gateway invokes, and CodeDeploy shifting it.
    version = lambda_.CfnVersion(stack, "FunctionVersion", function_name=function.ref)
    alias = lambda_.CfnAlias(stack, "LiveAlias", function_name=function.ref, function_version=version.attr_version,
                             name="live")
    deploy_app = codedeploy.CfnApplication(stack, "CodeDeployApplication", compute_platform="Lambda",
                                           application_name=f"webhook-{env}")
    deploy_role = iam.CfnRole(stack, "CodeDeployRole", assume_role_policy_document=iam.PolicyDocument(
        statements=[iam.PolicyStatement(actions=["sts:AssumeRole"],
                                        principals=[iam.ServicePrincipal("codedeploy.amazonaws.com")])]).to_json(),
        policies=[iam.CfnRole.PolicyProperty(policy_name="shift-live-alias", policy_document=iam.PolicyDocument(
            statements=[iam.PolicyStatement(actions=["lambda:GetAlias", "lambda:UpdateAlias"],
                                            resources=[alias.ref]),
                        iam.PolicyStatement(actions=["cloudwatch:DescribeAlarms"], resources=["*"])]).to_json())])

    api = apigw.CfnRestApi(stack, "WebhookApi", name=f"webhook-api-{env}",
                           endpoint_configuration=apigw.CfnRestApi.EndpointConfigurationProperty(types=["REGIONAL"]))
    resource = apigw.CfnResource(stack, "WebhookResource", rest_api_id=api.ref, parent_id=api.attr_root_resource_id,
                                 path_part="webhook")
    model = apigw.CfnModel(stack, "TransactionModel", rest_api_id=api.ref, content_type="application/json",
                           name="Transaction", schema={"type": "object", "required": ["transactionId", "amount"],
                                                       "properties": {"transactionId": {"type": "string"},
                                                                      "amount": {"type": "number"},
                                                                      "currency": {"type": "string"}}})
    validator = apigw.CfnRequestValidator(stack, "BodyValidator", rest_api_id=api.ref, name="body",
                                          validate_request_body=True, validate_request_parameters=False)
    for name, kind in GATEWAY_RESPONSES.items():
        apigw.CfnGatewayResponse(stack, f"GatewayResponse{name}", rest_api_id=api.ref, response_type=kind,
                                 response_templates={"application/json": '{"error":"$context.error.messageString"}'})
    method = apigw.CfnMethod(
        stack, "WebhookPostMethod", rest_api_id=api.ref, resource_id=resource.ref, http_method="POST",
        authorization_type="NONE", request_validator_id=validator.ref, request_models={"application/json": model.ref},
        integration=apigw.CfnMethod.IntegrationProperty(
            type="AWS_PROXY", integration_http_method="POST",
            uri=f"arn:{stack.partition}:apigateway:{stack.region}:lambda:path/2015-03-31/functions/"
                f"{alias.ref}/invocations"))
    deployment = apigw.CfnDeployment(stack, "ApiDeployment", rest_api_id=api.ref)
    deployment.node.add_dependency(method)
    logging_role = iam.CfnRole(stack, "ApiGatewayLoggingRole", assume_role_policy_document=iam.PolicyDocument(
        statements=[iam.PolicyStatement(actions=["sts:AssumeRole"],
                                        principals=[iam.ServicePrincipal("apigateway.amazonaws.com")])]).to_json(),
        managed_policy_arns=[f"arn:{stack.partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"])
    apigw.CfnAccount(stack, "ApiGatewayAccount", cloud_watch_role_arn=logging_role.attr_arn)
    stage = apigw.CfnStage(
        stack, "ApiStage", rest_api_id=api.ref, deployment_id=deployment.ref, stage_name=env, tracing_enabled=True,
        access_log_setting=apigw.CfnStage.AccessLogSettingProperty(
            destination_arn=api_logs.attr_arn, format='{"requestId":"$context.requestId","status":"$context.status"}'),
        method_settings=[apigw.CfnStage.MethodSettingProperty(
            http_method="*", resource_path="/*", throttling_rate_limit=rate, throttling_burst_limit=burst,
            metrics_enabled=True)])
    apigw.CfnUsagePlan(stack, "ApiUsagePlan", usage_plan_name=f"webhook-{env}",
                       api_stages=[apigw.CfnUsagePlan.ApiStageProperty(api_id=api.ref, stage=stage.ref)],
                       throttle=apigw.CfnUsagePlan.ThrottleSettingsProperty(rate_limit=rate, burst_limit=burst))
    lambda_.CfnPermission(stack, "ApiInvokePermission", action="lambda:InvokeFunction", function_name=alias.ref,
                          principal="apigateway.amazonaws.com", source_account=stack.account,
                          source_arn=f"arn:{stack.partition}:execute-api:{stack.region}:{stack.account}:{api.ref}/*/POST/webhook")
    alarms = {"FunctionErrorsAlarm": ("AWS/Lambda", "Errors", {"FunctionName": function.ref}),
              "FunctionThrottlesAlarm": ("AWS/Lambda", "Throttles", {"FunctionName": function.ref}),
              "Api5xxRateAlarm": ("AWS/ApiGateway", "5XXError", {"ApiName": api.name, "Stage": stage.ref}),
              "ApiLatencyP99Alarm": ("AWS/ApiGateway", "Latency", {"ApiName": api.name, "Stage": stage.ref})}
    created = {}
    for logical_id, (namespace, metric, dimensions) in alarms.items():
        created[logical_id] = cw.CfnAlarm(
                    stack, logical_id, namespace=namespace, metric_name=metric, period=60, evaluation_periods=5,
                    datapoints_to_alarm=3, threshold=1, comparison_operator="GreaterThanOrEqualToThreshold",
                    treat_missing_data="notBreaching", alarm_actions=[topic], ok_actions=[topic], statistic="Sum",
                    dimensions=[cw.CfnAlarm.DimensionProperty(name=k, value=v) for k, v in dimensions.items()])
    group = codedeploy.CfnDeploymentGroup(
        stack, "CodeDeploymentGroup", application_name=deploy_app.ref, service_role_arn=deploy_role.attr_arn,
        deployment_config_name="CodeDeployDefault.LambdaCanary10Percent5Minutes",
        deployment_style=codedeploy.CfnDeploymentGroup.DeploymentStyleProperty(
            deployment_option="WITH_TRAFFIC_CONTROL", deployment_type="BLUE_GREEN"),
        alarm_configuration=codedeploy.CfnDeploymentGroup.AlarmConfigurationProperty(enabled=True, alarms=[
            codedeploy.CfnDeploymentGroup.AlarmProperty(name=created[name].ref)
            for name in ("FunctionErrorsAlarm", "Api5xxRateAlarm")]),
        auto_rollback_configuration=codedeploy.CfnDeploymentGroup.AutoRollbackConfigurationProperty(
            enabled=True, events=["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]))
    shift = cdk.CfnCodeDeployLambdaAliasUpdate(application_name=deploy_app.ref, deployment_group_name=group.ref)
    alias.cfn_options.update_policy = cdk.CfnUpdatePolicy(code_deploy_lambda_alias_update=shift)
    for name, value in (("Team", "payments"), ("CostCenter", "fintech")):
        cdk.Tags.of(stack).add(name, value)
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
