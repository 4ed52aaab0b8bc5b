"""Configuration is validated once, at the edge, and errors say what is accepted."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from support.environments import ENVIRONMENTS_FILE, SHIPPED
from webhook_templates.config import (
    DEFAULT_RUNTIME,
    ENVIRONMENT_KEYS,
    NUMERIC_BOUNDS,
    ConfigError,
    EnvironmentConfig,
    load_environments,
    parse_environments,
    resolve_environment,
    validate_tag,
)
from webhook_templates.stack.parameters import SPECS, parameter_file, parameters
from webhook_templates.stack.tags import stack_tags

README = (ENVIRONMENTS_FILE.parent / "README.md").read_text(encoding="utf-8")


def test_shipped_environments_and_stack_names() -> None:
    assert list(SHIPPED) == ["dev", "staging", "prod"]
    assert SHIPPED["staging"].stack_name == "webhook-staging"
    assert SHIPPED["prod"].is_production and not SHIPPED["dev"].is_production
    assert all(not env.tags for env in SHIPPED.values())


def test_shipped_values_are_todays() -> None:
    assert SHIPPED["dev"] == EnvironmentConfig(name="dev", throttle_rate_limit=10, throttle_burst_limit=20,
                                               deployment_preference="CodeDeployDefault.LambdaAllAtOnce",
                                               rollback_monitoring_minutes=0, refusal_alarm_threshold=20,
                                               edge_4xx_alarm_min_requests=50)
    assert SHIPPED["staging"] == EnvironmentConfig(
        name="staging", throttle_rate_limit=25, throttle_burst_limit=50, reserved_concurrency=10,
        deployment_preference="CodeDeployDefault.LambdaLinear10PercentEvery1Minute", rollback_monitoring_minutes=5)
    assert SHIPPED["prod"] == EnvironmentConfig(name="prod", memory_mb=512, throttle_rate_limit=100,
                                                throttle_burst_limit=200, reserved_concurrency=50)


def test_defaults_are_production_safe() -> None:
    config = EnvironmentConfig(name="x1")
    assert config.runtime == DEFAULT_RUNTIME == "python3.13"
    assert config.memory_mb < 1024  # the old stack's oversized default
    assert config.timeout_seconds < 29  # API Gateway's integration limit
    assert config.log_retention_days == 30
    assert config.signing_secret_arn == ""  # the stack creates (and encrypts) the secret


def test_toml_arrays_become_tuples() -> None:
    envs = parse_environments('[qa]\nsigning_secret_readers = ["arn:aws:iam::123456789012:role/break-glass"]\n')
    assert envs["qa"].signing_secret_readers == ("arn:aws:iam::123456789012:role/break-glass",)


def test_an_empty_table_is_an_environment_with_every_default() -> None:
    assert parse_environments("[qa]\n")["qa"] == EnvironmentConfig(name="qa")


def test_config_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        SHIPPED["prod"].memory_mb = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        parse_environments('[qa]\ntags = { Owner = "a" }\n')["qa"].tags["Owner"] = "b"  # type: ignore[index]


def test_every_key_is_documented_in_the_readme() -> None:
    for key in ENVIRONMENT_KEYS:
        assert f"| `{key}` |" in README, key


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
    # As aws:PrincipalArn the root ARN is the root user only: it would exempt none of the account's roles.
    ("signing_secret_readers", ("arn:aws:iam::123456789012:root",),
     "not an account's root (it exempts only the root user"),
    ("name", "Prod", "lowercase"),
    # TOML's true is a Python bool, which is an int: it must not pass as 1.
    ("reserved_concurrency", True, "an integer from 0"),
    ("log_retention_days", True, "30, 60"),
    ("signing_secret_arn", 12, "Secrets Manager secret ARN"),
    ("production", "yes", "true or false"),
    # Names, not ARNs: environments.toml holds no account ID; the template builds the ARN.
    ("deploy_role", "arn:aws:iam::123456789012:role/webhook-cloudformation-deploy", "an IAM role name"),
    ("deploy_role", "a" * 65, "1-64 letters"),
    ("deploy_role", "two words", "an IAM role name"),
    ("permissions_boundary", "arn:aws:iam::123456789012:policy/webhook-permissions-boundary", "a managed policy name"),
    ("permissions_boundary", 7, "a managed policy name"),
    # IAM's names are ASCII, and a trailing newline is not part of one.
    ("deploy_role", "röle", "an IAM role name"),
    ("deploy_role", "webhook-cloudformation-deploy\n", "an IAM role name"),
    # The bundle's role creates roles only with the bundle's boundary: without it the first deploy fails.
    ("deploy_role", "webhook-cloudformation-deploy", 'permissions_boundary = "webhook-permissions-boundary" beside it'),
])
def test_invalid_values_name_the_setting_and_what_is_accepted(setting: str, value: object, accepted: str) -> None:
    with pytest.raises(ConfigError) as error:
        dataclasses.replace(SHIPPED["dev"], **{setting: value})
    assert f"{setting}={value!r}" in str(error.value)
    assert accepted in str(error.value)


@pytest.mark.parametrize("setting", sorted(NUMERIC_BOUNDS))
def test_numeric_bounds_are_what_validate_accepts_and_the_template_states(setting: str) -> None:
    """One range per setting: the edges pass, one past them fails, and the parameter says the same."""
    bound = NUMERIC_BOUNDS[setting]
    for edge in (bound.low, bound.high):
        assert getattr(dataclasses.replace(SHIPPED["dev"], **{setting: edge}), setting) == edge
    for outside in (bound.low - 1, bound.high + 1):
        with pytest.raises(ConfigError, match=f"^{setting}={outside!r} is invalid; accepted: .*{bound.high}"):
            dataclasses.replace(SHIPPED["dev"], **{setting: outside})
    (spec,) = [spec for spec in SPECS if spec.setting == setting]
    (parameter,) = [p for p in parameters() if p.title == spec.key]
    assert (parameter.properties["MinValue"], parameter.properties["MaxValue"]) == (bound.low, bound.high)
    (row,) = [line for line in README.splitlines() if line.startswith(f"| `{setting}` |")]
    assert f"{bound.low}-{bound.high}" in row, "the README's key table states the same range"


def test_out_of_range_value_names_file_table_key_value_and_accepted() -> None:
    with pytest.raises(ConfigError) as error:
        parse_environments("[dev]\n[qa]\ntimeout_seconds = 60\n", "envs/environments.toml")
    assert str(error.value) == ("envs/environments.toml [qa]: timeout_seconds=60 is invalid; accepted: an integer "
                                "from 6 (the handler's time for one AWS call and its answer) to 28 "
                                "(API Gateway stops waiting at 29 s)")


def test_unknown_key_is_an_error_listing_the_keys() -> None:
    with pytest.raises(ConfigError) as error:
        parse_environments("[qa]\nmemroy_mb = 512\n")
    assert "environments.toml [qa]: unknown key 'memroy_mb'; accepted: team, cost_center, runtime, memory_mb" in str(
        error.value)


def test_the_retired_account_role_key_is_refused_saying_what_to_do_instead() -> None:
    with pytest.raises(ConfigError) as error:
        parse_environments("[qa]\nmemory_mb = 512\n\n[prod]\ncreate_api_gateway_account_role = true\n")
    assert str(error.value) == (
        "environments.toml [prod]: create_api_gateway_account_role is no longer a key; accepted: no key: API "
        "Gateway's logging role is not in the webhook stack any more; deploy the bundle's account-setup.json once "
        "per account and region instead (README: The account's API Gateway logging role), then remove the key")
    # false is refused too: the key means nothing now, and leaving it would suggest it does.
    with pytest.raises(ConfigError, match="create_api_gateway_account_role is no longer a key"):
        parse_environments("[qa]\ncreate_api_gateway_account_role = false\n")
    assert "create_api_gateway_account_role" not in ENVIRONMENT_KEYS


@pytest.mark.parametrize(("text", "message"), [
    ("[qa\n", "not valid TOML"),
    ("", "no environment"),
    ("memory_mb = 1\n", "memory_mb = 1 is not an environment table"),
    ("[QA]\n", "[QA] is not a valid environment name; accepted: 2-16 lowercase"),
    ("[qa]\nname = 'other'\n", "unknown key 'name'"),
    ("[prod]\nproduction = false\n", "prod is always production"),
    ("[qa]\ntags = 'Owner=me'\n", 'accepted: a table of KEY = "VALUE" strings'),
    ("[qa]\ntags = { Owner = 'a|b' }\n", "tag 'Owner' value 'a|b' is invalid"),
    ("[qa]\ntags = { Team = 'x' }\n", "tag key 'Team' is reserved"),
])
def test_malformed_files_are_refused_with_what_is_accepted(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match="accepted") as error:
        parse_environments(text)
    assert message in str(error.value)


def test_a_missing_file_says_how_to_point_at_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--environments PATH"):
        load_environments(tmp_path / "environments.toml")


def test_production_marks_another_environment_but_prod_stays_production() -> None:
    envs = parse_environments("[live]\nproduction = true\n[prod]\n[dev]\n")
    assert envs["live"].is_production and envs["prod"].is_production and not envs["dev"].is_production
    values = {p["ParameterKey"]: p["ParameterValue"] for p in parameter_file(envs["live"])}
    assert values["Production"] == "true"
    assert "Production" not in {p["ParameterKey"] for p in parameter_file(envs["prod"])}


def test_unknown_environment_is_refused_with_the_choices_and_the_way_out() -> None:
    with pytest.raises(ConfigError) as error:
        resolve_environment(SHIPPED, "stagng")
    assert "--env 'stagng' is not in environments.toml; accepted: dev, staging, prod, or an ephemeral environment " \
           "with --based-on ENV" in str(error.value)


def test_based_on_copies_everything_but_the_name_and_production() -> None:
    envs = parse_environments('[live]\nproduction = true\nmemory_mb = 1024\ntags = { Owner = "pay" }\n')
    preview = resolve_environment(envs, "pr-123", based_on="live")
    assert preview.name == "pr-123" and preview.stack_name == "webhook-pr-123"
    assert preview.memory_mb == 1024 and dict(preview.tags) == {"Owner": "pay"}
    assert not preview.is_production


@pytest.mark.parametrize(("name", "based_on", "message"), [
    ("dev", "staging", "'dev' is in it"),
    ("pr-1", "qa", "--based-on 'qa' is not in environments.toml; accepted: dev, staging, prod"),
    ("prod", "dev", "cannot be ephemeral"),
    ("PR_1", "dev", "--env 'PR_1' is invalid; accepted: 2-16 lowercase"),
])
def test_based_on_misuse_is_refused(name: str, based_on: str, message: str) -> None:
    envs = {k: v for k, v in SHIPPED.items() if k != "prod"} if name == "prod" else SHIPPED
    with pytest.raises(ConfigError, match="accepted") as error:
        resolve_environment(envs, name, based_on=based_on)
    assert message in str(error.value)


@pytest.mark.parametrize(("key", "value", "message"), [
    ("Owner", "a|b", "value 'a|b' is invalid; accepted: 1-256 letters, digits, spaces and _ . : / = + - @"),
    ("Owner", "`rm`", "value '`rm`' is invalid"),
    ("Owner", "<script>", "value '<script>' is invalid"),
    ("Owner", "two\nlines", "value 'two\\nlines' is invalid"),
    ("Owner", "", "value '' is invalid"),
    ("Owner", "x" * 257, "is invalid; accepted: 1-256"),
    ("Own|er", "x", "key 'Own|er' is invalid; accepted: 1-128"),
    ("aws:owner", "x", "not starting with 'aws:'"),
    ("x" * 129, "x", "accepted: 1-128"),
    ("Environment", "x", "reserved"),
])
def test_tags_follow_aws_tag_rules(key: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match="accepted") as error:
        validate_tag(key, value)
    assert message in str(error.value)


def test_tags_accept_what_aws_accepts() -> None:
    for key, value in [("Owner", "platform-team"), ("cost:centre", "Zürich 1/2 = +@_."), ("名前", "値")]:
        validate_tag(key, value)


def test_cli_tags_win_over_the_files_and_are_sorted() -> None:
    env = parse_environments('[qa]\ntags = { Owner = "a", App = "webhooks" }\n')["qa"]
    required = {"Environment": "qa", "Team": "payments-platform", "CostCenter": "fintech-webhooks"}
    assert stack_tags(env, {"Owner": "b", "Ticket": "PAY-1"}) == {
        "App": "webhooks", "Owner": "b", "Ticket": "PAY-1", **required}
    assert list(stack_tags(env)) == ["App", "CostCenter", "Environment", "Owner", "Team"]


def test_parameter_file_renders_every_setting_as_a_string() -> None:
    values = {p["ParameterKey"]: p["ParameterValue"] for p in parameter_file(SHIPPED["prod"])}
    assert values == {
        "Environment": "prod",
        "LambdaRuntime": "python3.13", "LambdaMemorySize": "512", "LambdaTimeout": "10",
        "ReservedConcurrency": "50", "ThrottleRateLimit": "100", "ThrottleBurstLimit": "200",
        "LogRetentionDays": "30", "SigningSecretArn": "",
        "SigningSecretReaders": "", "AlarmTopicArn": "",
        "DeploymentPreference": "CodeDeployDefault.LambdaCanary10Percent5Minutes",
        "SnapStart": "false", "ProvisionedConcurrency": "0",
    }
    assert [spec.key for spec in SPECS if not spec.omitted_at_default] == list(values)


def test_alarm_thresholds_reach_the_parameter_file_only_when_not_the_default() -> None:
    values = {p["ParameterKey"]: p["ParameterValue"] for p in parameter_file(SHIPPED["dev"])}
    assert (values["RefusalAlarmThreshold"], values["Edge4xxAlarmMinRequests"]) == ("20", "50")
    assert "Edge4xxAlarmPercent" not in values
    share = dataclasses.replace(SHIPPED["dev"], edge_4xx_alarm_percent=2.5)
    assert {p["ParameterKey"]: p["ParameterValue"] for p in parameter_file(share)}["Edge4xxAlarmPercent"] == "2.5"
def test_the_deploy_role_and_boundary_reach_the_parameter_file_only_when_named() -> None:
    """Unset, the files stay as they were (CloudFormation uses the empty default: no boundary, no role)."""
    keys = {p["ParameterKey"] for p in parameter_file(SHIPPED["staging"])}
    assert not {"DeployRole", "PermissionsBoundary"} & keys
    named = dataclasses.replace(SHIPPED["staging"], deploy_role="webhook-cloudformation-deploy",
                                permissions_boundary="webhook-permissions-boundary")
    values = {p["ParameterKey"]: p["ParameterValue"] for p in parameter_file(named)}
    assert values["DeployRole"] == "webhook-cloudformation-deploy"
    assert values["PermissionsBoundary"] == "webhook-permissions-boundary"


def test_signing_secret_readers_become_one_comma_separated_parameter() -> None:
    readers = ("arn:aws:iam::123456789012:role/break-glass",
               "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Onboarding_*")
    config = dataclasses.replace(SHIPPED["dev"], signing_secret_readers=readers)
    values = {p["ParameterKey"]: p["ParameterValue"] for p in parameter_file(config)}
    assert values["SigningSecretReaders"].split(",") == list(readers)


def test_minimum_timeout_leaves_the_handler_time_for_an_aws_call() -> None:
    """Below the minimum, the handler's deadline check would answer every verified delivery 503."""
    import ast

    from webhook_templates.config import MIN_TIMEOUT_SECONDS
    from webhook_templates.stack.handler_artifact import CHECKOUT_HANDLER_PATH

    source = CHECKOUT_HANDLER_PATH.read_text(encoding="utf-8")
    names: dict[str, object] = {}
    for statement in ast.parse(source).body:
        if isinstance(statement, ast.Assign) and isinstance(statement.targets[0], (ast.Name, ast.Tuple)):
            code = compile(ast.Module(body=[statement], type_ignores=[]), "app.py", "exec")
            try:
                exec(code, {}, names)  # only the constant arithmetic below is needed
            except Exception:  # noqa: BLE001 - statements that need imports are not constants
                continue
    needed_ms = int(names["_CALL_WORST_MS"]) + int(names["_ANSWER_MARGIN_MS"])  # type: ignore[call-overload]
    assert needed_ms < MIN_TIMEOUT_SECONDS * 1000 <= needed_ms + 1000
    with pytest.raises(ConfigError, match=f"from {MIN_TIMEOUT_SECONDS}"):
        EnvironmentConfig(name="qa", timeout_seconds=MIN_TIMEOUT_SECONDS - 1)
    assert EnvironmentConfig(name="qa", timeout_seconds=MIN_TIMEOUT_SECONDS).timeout_seconds == MIN_TIMEOUT_SECONDS


def test_bad_retention_names_file_table_key_value_and_accepted() -> None:
    with pytest.raises(ConfigError) as error:
        parse_environments("[qa]\ndelivery_retention_days = 0\n", "envs/environments.toml")
    assert str(error.value) == ("envs/environments.toml [qa]: delivery_retention_days=0 is invalid; accepted: "
                                "an integer from 1 to 3650 (days)")


@pytest.mark.parametrize("value", ['"35"', "35.5", "true"])
def test_retention_must_be_a_whole_number_of_days(value: str) -> None:
    with pytest.raises(ConfigError, match=r"^environments.toml \[qa\]: delivery_retention_days=.* is invalid"):
        parse_environments(f"[qa]\ndelivery_retention_days = {value}\n")


def test_retention_defaults_past_senders_retry_windows_and_stream_is_off() -> None:
    config = parse_environments("[qa]\n")["qa"]
    assert config.delivery_retention_days > 30  # the longest automatic retry schedules run for days to a month
    assert config.stream is False
    assert parse_environments("[qa]\nstream = true\n")["qa"].stream is True


def test_stream_must_be_a_boolean() -> None:
    with pytest.raises(ConfigError) as error:
        parse_environments('[qa]\nstream = "yes"\n', "envs/environments.toml")
    assert str(error.value) == "envs/environments.toml [qa]: stream='yes' is invalid; accepted: true or false"
