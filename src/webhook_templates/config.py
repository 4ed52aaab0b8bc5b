"""Per-environment configuration: typed, frozen data, validated once at the edge.

The rendered template is environment-agnostic; an ``EnvironmentConfig`` is what
becomes one environment's CloudFormation parameter file.  Defaults are the
production-safe choice, so an environment only lists what it relaxes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

#: Lambda runtimes the template accepts: only those `make test` runs the handler suite on (test-runtimes).
RUNTIMES: tuple[str, ...] = ("python3.11", "python3.12", "python3.13")
DEFAULT_RUNTIME = "python3.13"

#: Values CloudFormation accepts for AWS::Logs::LogGroup RetentionInDays.
LOG_RETENTION_DAYS: tuple[int, ...] = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192,
    2557, 2922, 3288, 3653,
)

#: Where `render` writes the bundle and `deploy` reads it.
DEFAULT_BUILD_DIR = Path("build")

ENVIRONMENT_NAME_PATTERN = r"^[a-z][a-z0-9-]{1,15}$"
_TAG_KEY_PATTERN = re.compile(r"^[A-Za-z0-9 _.:/=+@-]{1,128}$")
_RESERVED_TAG_KEYS = frozenset({"Environment", "Team", "CostCenter"})
_SECRET_ARN_PATTERN = re.compile(
    r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$"
)
#: An IAM principal ARN as ``aws:PrincipalArn`` sees it (a role's, a user's, the
#: account root's), ``*`` wildcards allowed; no comma, as readers are a comma list.
PRINCIPAL_ARN_PATTERN = r"^arn:aws[a-z-]*:iam::\d{12}:(root|(role|user)/[A-Za-z0-9+=.@_/*-]{1,512})$"
_TOPIC_ARN_PATTERN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$")


class ConfigError(ValueError):
    """A configuration value is invalid; the message names it and what is accepted."""


@dataclass(frozen=True)
class EnvironmentConfig:
    """Everything that differs between environments, as deploy-time parameter values."""

    name: str
    team: str = "payments-platform"
    cost_center: str = "fintech-webhooks"
    runtime: str = DEFAULT_RUNTIME
    #: 256 MB: the handler does one JSON parse, one HMAC and one DynamoDB call.
    memory_mb: int = 256
    #: API Gateway gives up after 29 s; the function must answer well before it.
    timeout_seconds: int = 10
    #: 0 leaves the function on the account's unreserved pool.
    reserved_concurrency: int = 0
    throttle_rate_limit: float = 50.0
    throttle_burst_limit: int = 100
    log_retention_days: int = 30
    #: Empty: the stack creates the signing secret.  Otherwise an existing one.
    signing_secret_arn: str = ""
    #: Principals besides the function that may read the created signing secret.
    signing_secret_readers: tuple[str, ...] = ()
    #: The API Gateway CloudWatch role is one per account and region.
    create_api_gateway_account_role: bool = False
    alarm_topic_arn: str = ""

    def __post_init__(self) -> None:
        validate(self)

    @property
    def stack_name(self) -> str:
        """The default CloudFormation stack name for this environment."""
        return f"webhook-{self.name}"

    @property
    def is_production(self) -> bool:
        """Production gets deletion and termination protection."""
        return self.name == "prod"


def _require(condition: bool, setting: str, value: object, accepted: str) -> None:
    if not condition:
        raise ConfigError(f"{setting}={value!r} is invalid; accepted: {accepted}")


def validate(config: EnvironmentConfig) -> None:
    """Raise ``ConfigError`` naming the first invalid setting and what it accepts."""
    _require(
        bool(re.match(ENVIRONMENT_NAME_PATTERN, config.name)),
        "name", config.name, "2-16 lowercase letters, digits or '-', starting with a letter",
    )
    for setting in ("team", "cost_center"):
        value = getattr(config, setting)
        _require(
            isinstance(value, str) and bool(_TAG_KEY_PATTERN.match(value)) and len(value) <= 64,
            setting, value, "1-64 characters of letters, digits, spaces and _.:/=+@-",
        )
    _require(config.runtime in RUNTIMES, "runtime", config.runtime, ", ".join(RUNTIMES))
    _require(
        isinstance(config.memory_mb, int) and 128 <= config.memory_mb <= 10240,
        "memory_mb", config.memory_mb, "an integer from 128 to 10240",
    )
    _require(
        isinstance(config.timeout_seconds, int) and 1 <= config.timeout_seconds <= 28,
        "timeout_seconds", config.timeout_seconds,
        "an integer from 1 to 28 (API Gateway stops waiting at 29 s)",
    )
    _require(
        isinstance(config.reserved_concurrency, int) and 0 <= config.reserved_concurrency <= 1000,
        "reserved_concurrency", config.reserved_concurrency, "an integer from 0 (none) to 1000",
    )
    _require(
        isinstance(config.throttle_rate_limit, (int, float))
        and not isinstance(config.throttle_rate_limit, bool)
        and 1 <= config.throttle_rate_limit <= 10000,
        "throttle_rate_limit", config.throttle_rate_limit, "requests per second from 1 to 10000",
    )
    _require(
        isinstance(config.throttle_burst_limit, int)
        and not isinstance(config.throttle_burst_limit, bool)
        and 1 <= config.throttle_burst_limit <= 5000,
        "throttle_burst_limit", config.throttle_burst_limit, "an integer from 1 to 5000",
    )
    _require(
        config.log_retention_days in LOG_RETENTION_DAYS,
        "log_retention_days", config.log_retention_days,
        ", ".join(str(d) for d in LOG_RETENTION_DAYS),
    )
    _require(
        config.signing_secret_arn == "" or bool(_SECRET_ARN_PATTERN.match(config.signing_secret_arn)),
        "signing_secret_arn", config.signing_secret_arn,
        "empty (the stack creates the secret) or a Secrets Manager secret ARN",
    )
    _require(
        isinstance(config.signing_secret_readers, tuple)
        and all(isinstance(arn, str) and re.match(PRINCIPAL_ARN_PATTERN, arn)
                for arn in config.signing_secret_readers),
        "signing_secret_readers", config.signing_secret_readers,
        "a tuple of IAM principal ARNs (arn:aws:iam::<12 digits>:role/<name>, user/<name> or root; * allowed)",
    )
    _require(
        isinstance(config.create_api_gateway_account_role, bool),
        "create_api_gateway_account_role", config.create_api_gateway_account_role, "true or false",
    )
    _require(
        config.alarm_topic_arn == "" or bool(_TOPIC_ARN_PATTERN.match(config.alarm_topic_arn)),
        "alarm_topic_arn", config.alarm_topic_arn, "empty (no notifications) or an SNS topic ARN",
    )


@dataclass(frozen=True)
class TemplateConfig:
    """Build-time choices that are the same for every environment of the template."""

    #: Added to every taggable resource, beside Environment, Team and CostCenter.
    extra_tags: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        object.__setattr__(self, "extra_tags", MappingProxyType(dict(sorted(self.extra_tags.items()))))
        for key, value in self.extra_tags.items():
            _require(
                bool(_TAG_KEY_PATTERN.match(key)) and key not in _RESERVED_TAG_KEYS
                and not key.lower().startswith("aws:"),
                "tag key", key,
                "1-128 letters, digits, spaces and _.:/=+@-, not 'aws:'-prefixed and not "
                + ", ".join(sorted(_RESERVED_TAG_KEYS)),
            )
            _require(
                isinstance(value, str) and len(value) <= 256,
                f"tag {key!r} value", value, "a string of at most 256 characters",
            )


ENVIRONMENTS: Mapping[str, EnvironmentConfig] = MappingProxyType({
    "dev": EnvironmentConfig(
        name="dev",
        throttle_rate_limit=10.0,
        throttle_burst_limit=20,
    ),
    "staging": EnvironmentConfig(
        name="staging",
        throttle_rate_limit=25.0,
        throttle_burst_limit=50,
        reserved_concurrency=10,
    ),
    "prod": EnvironmentConfig(
        name="prod",
        memory_mb=512,
        throttle_rate_limit=100.0,
        throttle_burst_limit=200,
        reserved_concurrency=50,
    ),
})


def environment(name: str) -> EnvironmentConfig:
    """Look up a shipped environment by name, or raise ``ConfigError`` listing them."""
    try:
        return ENVIRONMENTS[name]
    except KeyError:
        raise ConfigError(
            f"unknown environment {name!r}; accepted: {', '.join(ENVIRONMENTS)}"
        ) from None
