"""The template's parameters and conditions.

One table (``SPECS``) drives both the ``Parameters`` section and the per-environment
parameter files, so they cannot drift apart.  There is no console grouping
(``AWS::CloudFormation::Interface``): its groups and labels cost template body that the
operational parts need, and each parameter's key and description say what it is.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from troposphere import Condition, Equals, Join, Not, Or, Parameter, Ref

from ..config import (
    DEPLOY_SETTINGS,
    ENVIRONMENT_NAME_PATTERN,
    LOG_RETENTION_DAYS,
    NUMERIC_BOUNDS,
    POLICY_NAME_PATTERN,
    PRINCIPAL_ARN_PATTERN,
    PRODUCTION_NAME,
    ROLE_NAME_PATTERN,
    RUNTIMES,
    EnvironmentConfig,
)
from . import naming

_DEFAULTS = EnvironmentConfig(name="default")

# Condition names, referenced by the resource modules.
IS_PRODUCTION = "IsProduction"
CREATE_SIGNING_SECRET = "CreateSigningSecret"
HAS_ALARM_TOPIC = "HasAlarmTopic"
HAS_RESERVED_CONCURRENCY = "HasReservedConcurrency"
HAS_SECRET_READERS = "HasSigningSecretReaders"
USE_SNAP_START = "UseSnapStart"
HAS_PROVISIONED_CONCURRENCY = "HasProvisionedConcurrency"
HAS_STREAM = "HasTransactionStream"
HAS_DEPLOY_ROLE = "HasDeployRole"
HAS_PERMISSIONS_BOUNDARY = "HasPermissionsBoundary"


@dataclass(frozen=True)
class ParameterSpec:
    """One CloudFormation parameter and the config setting that supplies it."""

    key: str
    setting: str
    description: str
    type: str = "String"
    constraints: tuple[tuple[str, Any], ...] = ()
    #: Written to a parameter file only when it differs from the default (CloudFormation
    #: then uses the default), so adding it left the existing files byte for byte unchanged.
    omitted_at_default: bool = False

    def default(self) -> str | int | float | None:
        """The production-safe default, taken from ``EnvironmentConfig``'s field."""
        if self.setting == "name":
            return None
        return _as_parameter_value(getattr(_DEFAULTS, self.setting))


def _as_parameter_value(value: object) -> str | int | float | None:
    if isinstance(value, tuple):  # a CommaDelimitedList
        return ",".join(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if value is None or isinstance(value, (str, int, float)):
        return value
    raise TypeError(f"{value!r} cannot be a parameter value")


_BOOL = (("AllowedValues", ["true", "false"]),)


def _bounds(setting: str) -> tuple[tuple[str, Any], ...]:
    """MinValue/MaxValue from the range ``config.validate`` checks, so the two cannot differ."""
    bound = NUMERIC_BOUNDS[setting]
    return (("MinValue", bound.low), ("MaxValue", bound.high))


SPECS: tuple[ParameterSpec, ...] = (
    ParameterSpec(
        "Environment", "name",
        "Environment name, in every resource name.",
        constraints=(("AllowedPattern", ENVIRONMENT_NAME_PATTERN),
                     ("ConstraintDescription", "2-16 lowercase letters, digits or '-'")),
    ),
    ParameterSpec("LambdaRuntime", "runtime",
                  "Lambda runtime.",
                  constraints=(("AllowedValues", list(RUNTIMES)),)),
    ParameterSpec("LambdaMemorySize", "memory_mb",
                  "Lambda memory (MB).", "Number",
                  _bounds("memory_mb")),
    ParameterSpec("LambdaTimeout", "timeout_seconds",
                  "Lambda timeout (s), under API Gateway's 29 s.", "Number",
                  _bounds("timeout_seconds")),
    ParameterSpec("ReservedConcurrency", "reserved_concurrency",
                  "Reserved (and maximum) concurrency; 0: none.",
                  "Number", _bounds("reserved_concurrency")),
    ParameterSpec("ThrottleRateLimit", "throttle_rate_limit",
                  "Requests per second before 429.", "Number",
                  _bounds("throttle_rate_limit")),
    ParameterSpec("ThrottleBurstLimit", "throttle_burst_limit",
                  "Burst above the rate limit.", "Number",
                  _bounds("throttle_burst_limit")),
    ParameterSpec("LogRetentionDays", "log_retention_days",
                  "Days to keep function and access logs.", "Number",
                  (("AllowedValues", [str(d) for d in LOG_RETENTION_DAYS]),)),
    ParameterSpec("SigningSecretArn", "signing_secret_arn",
                  "An existing signing secret's ARN; empty: the stack creates one.",
                  constraints=(("AllowedPattern", r"^$|^arn:aws[a-z-]*:secretsmanager:.+$"),
                               ("ConstraintDescription", "empty or a Secrets Manager secret ARN"))),
    ParameterSpec("SigningSecretReaders", "signing_secret_readers",
                  "IAM ARNs (* allowed) that may read the created secret besides the function.",
                  "CommaDelimitedList",
                  (("AllowedPattern", "^$|" + PRINCIPAL_ARN_PATTERN),
                   ("ConstraintDescription", "IAM role or user ARNs"))),
    ParameterSpec("AlarmTopicArn", "alarm_topic_arn",
                  "SNS topic for alarms; empty: none.",
                  constraints=(("AllowedPattern", r"^$|^arn:aws[a-z-]*:sns:.+$"),
                               ("ConstraintDescription", "empty or an SNS topic ARN"))),
    ParameterSpec("Production", "production",
                  f"true: production, with table deletion protection ({PRODUCTION_NAME} always is).",
                  constraints=_BOOL, omitted_at_default=True),
    ParameterSpec("DeploymentPreference", "deployment_preference",
                  "CodeDeploy config shifting the live alias."),
    ParameterSpec("SnapStart", "snap_start",
                  "true: SnapStart (Python 3.12+).", constraints=_BOOL),
    # Kept short: every byte counts against CloudFormation's body limit.
    ParameterSpec("ProvisionedConcurrency", "provisioned_concurrency",
                  "Provisioned concurrency on live (billed while set).", "Number",
                  _bounds("provisioned_concurrency")),
    ParameterSpec("DeliveryRetentionDays", "delivery_retention_days",
                  "Days a redelivery is answered as a duplicate.", "Number",
                  _bounds("delivery_retention_days"), omitted_at_default=True),
    ParameterSpec("TransactionStream", "stream",
                  "true: stream new transactions (NEW_IMAGE).", constraints=_BOOL, omitted_at_default=True),
    ParameterSpec("RefusalAlarmThreshold", "refusal_alarm_threshold",
                  "Function refusals in 5 min that alarm.", "Number", _bounds("refusal_alarm_threshold"),
                  omitted_at_default=True),
    ParameterSpec("Edge4xxAlarmPercent", "edge_4xx_alarm_percent",
                  "API 4XX % in 5 min that alarms.", "Number", _bounds("edge_4xx_alarm_percent"),
                  omitted_at_default=True),
    ParameterSpec("Edge4xxAlarmMinRequests", "edge_4xx_alarm_min_requests",
                  "Requests in 5 min before the 4XX alarm can fire.", "Number",
                  _bounds("edge_4xx_alarm_min_requests"), omitted_at_default=True),
    ParameterSpec(naming.DEPLOY_ROLE_PARAMETER, "deploy_role",
                  "Name of the service role deploying the stack, named in the key policy; empty: none.",
                  constraints=(("AllowedPattern", ROLE_NAME_PATTERN),), omitted_at_default=True),
    ParameterSpec(naming.PERMISSIONS_BOUNDARY_PARAMETER, "permissions_boundary",
                  "Name of the managed policy bounding the stack's roles; empty: none.",
                  constraints=(("AllowedPattern", POLICY_NAME_PATTERN),), omitted_at_default=True),
)

#: Settings that are deploy-time data, not template parameters: the stack tags (``team`` and
#: ``cost_center`` are the values of two of them, ``stack.tags.required_tags``).
NOT_PARAMETERS = frozenset({"tags", "team", "cost_center"}) | DEPLOY_SETTINGS
_SPEC_SETTINGS = {spec.setting for spec in SPECS}
assert _SPEC_SETTINGS == {f.name for f in fields(EnvironmentConfig)} - NOT_PARAMETERS, (
    "every EnvironmentConfig setting except the stack tags' must be a template parameter"
)


def parameters() -> list[Parameter]:
    """The template's ``Parameters``, in the order a reader meets them."""
    result = []
    for spec in SPECS:
        props: dict[str, Any] = {"Type": spec.type, "Description": spec.description}
        default = spec.default()
        if default is not None:
            props["Default"] = str(default)
        props.update(spec.constraints)
        result.append(Parameter(spec.key, **props))
    return result


def conditions() -> dict[str, Condition | Any]:
    """Conditions derived from the parameters."""
    return {
        IS_PRODUCTION: Or(Equals(Ref("Environment"), PRODUCTION_NAME), Equals(Ref("Production"), "true")),
        CREATE_SIGNING_SECRET: Equals(Ref("SigningSecretArn"), ""),
        HAS_ALARM_TOPIC: Not(Equals(Ref("AlarmTopicArn"), "")),
        HAS_RESERVED_CONCURRENCY: Not(Equals(Ref("ReservedConcurrency"), 0)),
        HAS_SECRET_READERS: Not(Equals(Join("", Ref("SigningSecretReaders")), "")),
        USE_SNAP_START: Equals(Ref("SnapStart"), "true"),
        HAS_PROVISIONED_CONCURRENCY: Not(Equals(Ref("ProvisionedConcurrency"), 0)),
        HAS_STREAM: Equals(Ref("TransactionStream"), "true"),
        HAS_DEPLOY_ROLE: Not(Equals(Ref(naming.DEPLOY_ROLE_PARAMETER), "")),
        HAS_PERMISSIONS_BOUNDARY: Not(Equals(Ref(naming.PERMISSIONS_BOUNDARY_PARAMETER), "")),
    }


def parameter_values(config: EnvironmentConfig) -> dict[str, str]:
    """Every parameter's value ``config`` deploys with, those its file leaves at their default included."""
    return {spec.key: str(_as_parameter_value(getattr(config, spec.setting))) for spec in SPECS}


def parameter_file(config: EnvironmentConfig) -> list[dict[str, str]]:
    """One environment's CloudFormation parameter file (``aws cloudformation`` format)."""
    values = parameter_values(config)
    return [
        {"ParameterKey": spec.key, "ParameterValue": values[spec.key]}
        for spec in SPECS
        if not (spec.omitted_at_default and values[spec.key] == str(spec.default()))
    ]
