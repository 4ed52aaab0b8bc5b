"""The API Gateway REST API: ``POST /webhook`` proxied to the function, validated and throttled."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from troposphere import AWSObject, GetAtt, Ref, Sub, apigateway, awslambda

from . import naming, skips
from .contract import CONTENT_TYPE, GATEWAY_ERRORS, request_schema
from .function import live_alias_arn
from .handler_artifact import HandlerLimits
from .skips import checkov_skips

RESOURCE_ID = "WebhookResource"
MODEL_ID = "TransactionModel"
VALIDATOR_ID = "BodyValidator"
METHOD_ID = "WebhookPostMethod"
DEPLOYMENT_PREFIX = "ApiDeployment"
PERMISSION_ID = "ApiInvokePermission"

#: Fields of each access-log line (JSON, one object per request).
ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "requestTime": "$context.requestTimeEpoch",
    "ip": "$context.identity.sourceIp",
    "httpMethod": "$context.httpMethod",
    "resourcePath": "$context.resourcePath",
    "status": "$context.status",
    "responseLength": "$context.responseLength",
    "latencyMs": "$context.responseLatency",
    "integrationLatencyMs": "$context.integration.latency",
    "integrationStatus": "$context.integration.status",
    "error": "$context.error.responseType",
    "validationError": "$context.error.validationErrorString",
    "xrayTraceId": "$context.xrayTraceId",
}

def rest_api() -> apigateway.RestApi:
    """``webhook-api-<env>``, regional."""
    return apigateway.RestApi(
        naming.API_ID,
        Name=naming.per_environment(naming.API),
        Description="Transaction webhooks",
        EndpointConfiguration=apigateway.EndpointConfiguration(Types=["REGIONAL"]),
    )


def webhook_resource() -> apigateway.Resource:
    """The ``/webhook`` path."""
    return apigateway.Resource(
        RESOURCE_ID,
        RestApiId=Ref(naming.API_ID),
        ParentId=GetAtt(naming.API_ID, "RootResourceId"),
        PathPart="webhook",
    )


class ObjectSchemaModel(apigateway.Model):  # type: ignore[misc]  # troposphere is untyped
    """``AWS::ApiGateway::Model`` with ``Schema`` kept as a JSON object.

    troposphere turns the schema into a JSON string; CloudFormation takes both,
    but aws-cdk-lib's ``CfnInclude`` and other readers of the template accept only
    the object ("schema should be an 'object'"), which is also smaller.
    """

    def validate(self) -> None:
        """Nothing to convert: the schema is built here as a dict and stays one."""


def transaction_model(limits: HandlerLimits) -> apigateway.Model:
    """The body's JSON Schema, from the handler's own ``limits``."""
    return ObjectSchemaModel(
        MODEL_ID,
        RestApiId=Ref(naming.API_ID),
        ContentType=CONTENT_TYPE,
        Name="Transaction",
        Schema=request_schema(limits),
    )


def body_validator() -> apigateway.RequestValidator:
    """Rejects malformed bodies before Lambda runs (and is billed)."""
    return apigateway.RequestValidator(
        VALIDATOR_ID,
        RestApiId=Ref(naming.API_ID),
        Name="validate-body",
        ValidateRequestBody=True,
        ValidateRequestParameters=False,
    )


def gateway_responses() -> list[apigateway.GatewayResponse]:
    """JSON error bodies for the rejections API Gateway makes itself."""
    return [
        apigateway.GatewayResponse(
            "GatewayResponse" + "".join(part.capitalize() for part in response_type.split("_")),
            RestApiId=Ref(naming.API_ID),
            ResponseType=response_type,
            ResponseTemplates={
                CONTENT_TYPE: json.dumps({"error": code, "message": message}, separators=(",", ":"))
            },
        )
        for response_type, (code, message) in GATEWAY_ERRORS.items()
    ]


def webhook_method() -> apigateway.Method:
    """``POST /webhook`` with Lambda proxy integration.

    No API Gateway authorizer: senders authenticate with a Standard Webhooks
    HMAC signature that the function verifies on the raw body.
    """
    return apigateway.Method(
        METHOD_ID,
        Metadata=checkov_skips(skips.OPEN_METHOD),
        RestApiId=Ref(naming.API_ID),
        ResourceId=Ref(RESOURCE_ID),
        HttpMethod="POST",
        AuthorizationType="NONE",
        RequestValidatorId=Ref(VALIDATOR_ID),
        RequestModels={CONTENT_TYPE: Ref(MODEL_ID)},
        Integration=apigateway.Integration(
            Type="AWS_PROXY",
            IntegrationHttpMethod="POST",
            Uri=Sub(
                "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/"
                "${Function}/invocations",
                # The alias: API Gateway always calls a published version.
                Function=live_alias_arn(),
            ),
        ),
    )


def api_definition(limits: HandlerLimits) -> list[AWSObject]:
    """Everything a stage serves: a change to any of it needs a new deployment."""
    return [
        webhook_resource(),
        transaction_model(limits),
        body_validator(),
        *gateway_responses(),
        webhook_method(),
    ]


def definition_hash(definition: Sequence[AWSObject]) -> str:
    """A short, stable digest of the API definition."""
    canonical = json.dumps(
        [[obj.title, obj.to_dict()] for obj in definition], sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:10]


def deployment(definition: Sequence[AWSObject]) -> apigateway.Deployment:
    """A deployment whose logical ID carries the definition's hash.

    CloudFormation never redeploys an unchanged ``AWS::ApiGateway::Deployment``,
    so a stage would keep serving the old methods (the classic stale-stage
    bug).  A new logical ID whenever the definition changes forces a new one.
    """
    digest = definition_hash(definition)
    return apigateway.Deployment(
        DEPLOYMENT_PREFIX + digest,
        RestApiId=Ref(naming.API_ID),
        Description=f"API definition {digest}",
        DependsOn=[obj.title for obj in definition],
    )


def stage(deployment_id: str) -> apigateway.Stage:
    """The environment's stage: tracing, JSON access logs, metrics, and throttling.

    Throttling lives in ``MethodSettings`` because a usage plan only limits
    requests that carry an API key, which webhook senders do not.
    """
    return apigateway.Stage(
        naming.STAGE_ID,
        Metadata=checkov_skips(skips.CACHING),
        RestApiId=Ref(naming.API_ID),
        DeploymentId=Ref(deployment_id),
        StageName=Ref("Environment"),
        Description="Webhook stage",
        TracingEnabled=True,
        AccessLogSetting=apigateway.AccessLogSetting(
            DestinationArn=GetAtt(naming.ACCESS_LOG_GROUP_ID, "Arn"),
            Format=json.dumps(ACCESS_LOG_FIELDS, separators=(",", ":")),
        ),
        MethodSettings=[
            apigateway.MethodSetting(
                ResourcePath="/*",
                HttpMethod="*",
                MetricsEnabled=True,
                LoggingLevel="ERROR",
                # Full request logging would write webhook bodies to logs.
                DataTraceEnabled=False,
                ThrottlingRateLimit=Ref("ThrottleRateLimit"),
                ThrottlingBurstLimit=Ref("ThrottleBurstLimit"),
            )
        ],
    )


def invoke_permission() -> awslambda.Permission:
    """Only this API's stage, method and path may invoke the function, through the live alias."""
    return awslambda.Permission(
        PERMISSION_ID,
        Action="lambda:InvokeFunction",
        FunctionName=live_alias_arn(),
        Principal="apigateway.amazonaws.com",
        SourceAccount=Ref("AWS::AccountId"),
        SourceArn=Sub(
            "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:"
            "${" + naming.API_ID + "}/${" + naming.STAGE_ID + "}/POST/webhook"
        ),
    )


def endpoint_url() -> Sub:
    """The webhook URL senders post to."""
    return Sub(
        "https://${" + naming.API_ID + "}.execute-api.${AWS::Region}.${AWS::URLSuffix}/${"
        + naming.STAGE_ID + "}/webhook"
    )
