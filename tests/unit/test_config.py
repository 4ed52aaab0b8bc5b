"""Configuration is validated once, at the edge, and errors say what is accepted."""

from __future__ import annotations

import dataclasses

import pytest

from webhook_templates.config import (
    DEFAULT_RUNTIME,
    ENVIRONMENTS,
    ConfigError,
    EnvironmentConfig,
    TemplateConfig,
    environment,
)
from webhook_templates.stack.parameters import SPECS, parameter_file


def test_shipped_environments_and_stack_names() -> None:
    assert list(ENVIRONMENTS) == ["dev", "staging", "prod"]
    assert environment("staging").stack_name == "webhook-staging"
    assert environment("prod").is_production and not environment("dev").is_production


def test_defaults_are_production_safe() -> None:
    config = EnvironmentConfig(name="x1")
    assert config.runtime == DEFAULT_RUNTIME == "python3.13"
    assert config.memory_mb < 1024  # the old stack's oversized default
    assert config.timeout_seconds < 29  # API Gateway's integration limit
    assert config.log_retention_days == 30
    assert config.signing_secret_arn == ""  # the stack creates (and encrypts) the secret


def test_config_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        ENVIRONMENTS["prod"].memory_mb = 1  # type: ignore[misc]


@pytest.mark.parametrize(("setting", "value", "accepted"), [
    ("runtime", "nodejs18.x", "python3.11, python3.12, python3.13"),
    ("memory_mb", 64, "128 to 10240"),
    ("timeout_seconds", 30, "29 s"),
    ("log_retention_days", 31, "30, 60"),
    ("throttle_rate_limit", True, "requests per second"),
    ("signing_secret_arn", "my-secret", "Secrets Manager secret ARN"),
    ("alarm_topic_arn", "arn:aws:sqs:us-east-1:123456789012:q", "SNS topic ARN"),
    ("signing_secret_readers", ("arn:aws:iam::123456789012:role/a,b",), "IAM principal ARNs"),
    ("signing_secret_readers", ("arn:aws:s3:::bucket",), "IAM principal ARNs"),
    ("signing_secret_readers", "arn:aws:iam::123456789012:root", "a tuple"),
    ("name", "Prod", "lowercase"),
])
def test_invalid_values_name_the_setting_and_what_is_accepted(setting: str, value: object, accepted: str) -> None:
    with pytest.raises(ConfigError) as error:
        dataclasses.replace(ENVIRONMENTS["dev"], **{setting: value})
    assert f"{setting}={value!r}" in str(error.value)
    assert accepted in str(error.value)


def test_unknown_environment_is_rejected_with_the_choices() -> None:
    with pytest.raises(ConfigError, match="accepted: dev, staging, prod"):
        environment("production")


def test_template_tags_reject_reserved_and_aws_keys() -> None:
    with pytest.raises(ConfigError, match="Environment"):
        TemplateConfig(extra_tags={"Environment": "x"})
    with pytest.raises(ConfigError, match="aws:"):
        TemplateConfig(extra_tags={"aws:owner": "x"})
    assert dict(TemplateConfig(extra_tags={"b": "1", "a": "2"}).extra_tags) == {"a": "2", "b": "1"}


def test_parameter_file_renders_every_setting_as_a_string() -> None:
    values = {p["ParameterKey"]: p["ParameterValue"] for p in parameter_file(ENVIRONMENTS["prod"])}
    assert values == {
        "Environment": "prod", "Team": "payments-platform", "CostCenter": "fintech-webhooks",
        "LambdaRuntime": "python3.13", "LambdaMemorySize": "512", "LambdaTimeout": "10",
        "ReservedConcurrency": "50", "ThrottleRateLimit": "100", "ThrottleBurstLimit": "200",
        "CreateApiGatewayAccountRole": "false", "LogRetentionDays": "30", "SigningSecretArn": "",
        "SigningSecretReaders": "", "AlarmTopicArn": "",
    }
    assert [spec.key for spec in SPECS] == list(values)


def test_signing_secret_readers_become_one_comma_separated_parameter() -> None:
    readers = ("arn:aws:iam::123456789012:role/break-glass",
               "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Onboarding_*")
    config = dataclasses.replace(ENVIRONMENTS["dev"], signing_secret_readers=readers)
    values = {p["ParameterKey"]: p["ParameterValue"] for p in parameter_file(config)}
    assert values["SigningSecretReaders"].split(",") == list(readers)
