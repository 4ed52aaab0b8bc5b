"""Per-environment configuration: typed, frozen data, validated once at the edge.

The rendered template is environment-agnostic; an ``EnvironmentConfig`` is what
becomes one environment's CloudFormation parameter file.  The environments
themselves are data: ``environments.toml`` at the repository root, one table
per environment, read here with ``tomllib`` (``load_environments``) by the CLI
only; nothing below the CLI reads files.  Defaults are the production-safe
choice, so an environment only lists what it relaxes.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

from .stack import naming

#: Lambda runtimes the template accepts: only those `make test` runs the handler suite on (test-runtimes).
RUNTIMES: tuple[str, ...] = ("python3.11", "python3.12", "python3.13")
DEFAULT_RUNTIME = "python3.13"
#: Lambda SnapStart supports Python from 3.12.
SNAP_START_RUNTIMES: tuple[str, ...] = tuple(r for r in RUNTIMES if r != "python3.11")

#: CodeDeploy's predefined Lambda deployment configurations: how a new version
#: takes the ``live`` alias's traffic.  Canary: 10 % for N minutes, then all;
#: linear: 10 % more every N minutes; all at once: no gradual shift.
DEPLOYMENT_PREFERENCES: tuple[str, ...] = tuple(
    f"CodeDeployDefault.Lambda{name}" for name in (
        "AllAtOnce",
        *(f"Canary10Percent{minutes}Minutes" for minutes in (5, 10, 15, 30)),
        *(f"Linear10PercentEvery{minutes}Minute{'s' if minutes > 1 else ''}" for minutes in (1, 2, 3, 10)),
    )
)
DEFAULT_DEPLOYMENT_PREFERENCE = "CodeDeployDefault.LambdaCanary10Percent5Minutes"

#: A published version's description carries the secret's ARN (a new ARN must
#: publish a new version) and Lambda caps descriptions at 256 characters.
SIGNING_SECRET_ARN_MAX_LENGTH = 200

#: Settings the ``deploy`` command uses itself; every other one is a template parameter.
DEPLOY_SETTINGS = frozenset({"rollback_monitoring_minutes"})

#: Values CloudFormation accepts for AWS::Logs::LogGroup RetentionInDays.
LOG_RETENTION_DAYS: tuple[int, ...] = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192,
    2557, 2922, 3288, 3653,
)

#: Where `render` writes the bundle and `deploy` reads it.
DEFAULT_BUILD_DIR = Path("build")
#: The environments file, relative to the working directory (the repository root under make).
DEFAULT_ENVIRONMENTS_FILE = Path("environments.toml")

ENVIRONMENT_NAME_PATTERN = r"^[a-z][a-z0-9-]{1,15}$"
ENVIRONMENT_NAME_ACCEPTED = "2-16 lowercase letters, digits or '-', starting with a letter"
#: The one name that is production whatever the file says.
PRODUCTION_NAME = "prod"
_TAG_KEY_PATTERN = re.compile(r"^[A-Za-z0-9 _.:/=+@-]{1,128}$")
#: Tags the template itself sets on every resource, from parameters.
RESERVED_TAG_KEYS = frozenset({"Environment", "Team", "CostCenter"})
#: Besides Unicode letters, digits and spaces, the characters AWS allows in tags.
_TAG_PUNCTUATION = frozenset("_.:/=+-@")
TAG_CHARACTERS = "letters, digits, spaces and _ . : / = + - @"
_SECRET_ARN_PATTERN = re.compile(
    r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$"
)
#: An IAM principal ARN as ``aws:PrincipalArn`` sees it (a role's, a user's), ``*`` wildcards
#: allowed; no comma, as readers are a comma list.  Not the account's ``root``: as
#: ``aws:PrincipalArn`` it is the root user only, never the account's roles, so listing it
#: would look like "the whole account" and exempt nobody but the root user.
PRINCIPAL_ARN_PATTERN = r"^arn:aws[a-z-]*:iam::\d{12}:(role|user)/[A-Za-z0-9+=.@_/*-]{1,512}$"
_ROOT_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:root$")
_TOPIC_ARN_PATTERN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$")
#: IAM's rules for a role's and a managed policy's name (``^$|`` admits the empty default); names,
#: not ARNs, so that environments.toml holds no account ID: the template builds the ARN in its account.
ROLE_NAME_PATTERN = r"^$|^[A-Za-z0-9_+=,.@-]{1,64}$"
POLICY_NAME_PATTERN = r"^$|^[A-Za-z0-9_+=,.@-]{1,128}$"


#: The handler starts an AWS call only with 5.25 s left (two bounded attempts and an answer),
#: so a shorter function timeout would answer every verified delivery 503.
MIN_TIMEOUT_SECONDS = 6


class NumericBound(NamedTuple):
    """The range a numeric setting accepts, and how its error message says so."""

    low: int
    high: int
    accepted: str
    #: False for a setting that takes fractions too (a rate).
    integer: bool = True

    def admits(self, value: object) -> bool:
        """Whether ``value`` is a number of the right kind within the range."""
        # TOML's true/false are Python bools, and bool is an int subclass: never a number here.
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        return (isinstance(value, int) or not self.integer) and self.low <= value <= self.high


#: Every numeric setting's range, stated once: ``validate`` checks it, and
#: ``stack.parameters`` gives it to CloudFormation as the parameter's MinValue/MaxValue.
NUMERIC_BOUNDS: Mapping[str, NumericBound] = MappingProxyType({
    "memory_mb": NumericBound(128, 10240, "an integer from 128 to 10240"),
    "timeout_seconds": NumericBound(
        MIN_TIMEOUT_SECONDS, 28,
        f"an integer from {MIN_TIMEOUT_SECONDS} (the handler's time for one AWS call and its answer) to 28 "
        "(API Gateway stops waiting at 29 s)",
    ),
    "reserved_concurrency": NumericBound(0, 1000, "an integer from 0 (none) to 1000"),
    # The same ceiling as reserved concurrency, which caps it when set.
    "provisioned_concurrency": NumericBound(0, 1000, "an integer from 0 (none) to 1000"),
    "throttle_rate_limit": NumericBound(1, 10000, "requests per second from 1 to 10000", integer=False),
    "throttle_burst_limit": NumericBound(1, 5000, "an integer from 1 to 5000"),
    # At least a day: a sender's retries of one delivery span hours at the least.
    "delivery_retention_days": NumericBound(1, 3650, "an integer from 1 to 3650 (days)"),
    "refusal_alarm_threshold": NumericBound(1, 10000, "an integer from 1 to 10000 (refusals in 5 minutes)"),
    "edge_4xx_alarm_percent": NumericBound(1, 100, "a percentage from 1 to 100", integer=False),
    "edge_4xx_alarm_min_requests": NumericBound(1, 100000, "an integer from 1 to 100000 (requests in 5 minutes)"),
})


class ConfigError(ValueError):
    """A configuration value is invalid; the message names it and what is accepted."""


@dataclass(frozen=True)
class EnvironmentConfig:
    """Everything that differs between environments: parameter values and stack tags.

    Field names are the keys of ``environments.toml`` (``name`` is the table's).
    """

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
    alarm_topic_arn: str = ""
    #: Marks an environment besides ``prod`` as production (deletion and termination protection).
    production: bool = False
    #: CloudFormation stack tags (propagated to every resource that supports tags), not parameters.
    tags: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    #: How a new function version takes traffic (``DEPLOYMENT_PREFERENCES``);
    #: CodeDeploy rolls it back when the error or 5XX alarm fires meanwhile.
    deployment_preference: str = DEFAULT_DEPLOYMENT_PREFERENCE
    #: Minutes CloudFormation keeps watching the rollback alarms after an update
    #: finishes, rolling the whole stack back if one fires (0 to 180).
    rollback_monitoring_minutes: int = 10
    #: Lambda SnapStart on published versions (Python 3.12+): faster cold starts,
    #: billed for the cached snapshot and each restore; off by default.
    snap_start: bool = False
    #: Execution environments kept initialised on the ``live`` alias: no cold
    #: start up to this many concurrent requests, billed per GB-second for as
    #: long as it is configured, used or not; 0 (none) by default.
    provisioned_concurrency: int = 0
    #: Days a delivery marker is kept: a redelivery within them is answered as a duplicate,
    #: a later one is stored again (once).  Senders' automatic retries end within days
    #: (Stripe's after 3, Shopify's after 2), some queues hold them for up to a month.
    delivery_retention_days: int = 35
    #: A DynamoDB stream of the transactions table (``NEW_IMAGE``) for downstream readers.
    stream: bool = False
    #: Deliveries the function refuses (signature, timestamp, payload) in 5 minutes that page:
    #: a sender whose secret or payload no longer matches loses every delivery until one does.
    refusal_alarm_threshold: int = 5
    #: Share of requests API Gateway answers 4XX in 5 minutes that pages, once at least
    #: ``edge_4xx_alarm_min_requests`` came: one stray request never pages.
    edge_4xx_alarm_percent: float = 10.0
    edge_4xx_alarm_min_requests: int = 20
    #: The name of the CloudFormation service role this environment is deployed with (the bundle's
    #: ``webhook-cloudformation-deploy``), named in the key's policy: the role administers the key
    #: through the key policy, not through tags.  Empty: no such role (the role must exist first).
    deploy_role: str = ""
    #: The name of the managed policy every role of the stack is bounded by (the bundle's
    #: ``webhook-permissions-boundary``, which the deploy role requires).  Empty: no boundary.
    permissions_boundary: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.tags, Mapping):
            object.__setattr__(self, "tags", MappingProxyType(dict(sorted(self.tags.items()))))
        validate(self)

    @property
    def stack_name(self) -> str:
        """The default CloudFormation stack name for this environment."""
        return f"{naming.STACK}-{self.name}"

    @property
    def is_production(self) -> bool:
        """Production gets deletion and termination protection: ``prod``, and any marked ``production``."""
        return self.name == PRODUCTION_NAME or self.production


#: Keys an ``environments.toml`` table accepts, in the order the README documents them.
ENVIRONMENT_KEYS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(EnvironmentConfig) if f.name != "name")
#: Keys a table no longer accepts -> what to do instead.
RETIRED_KEYS: Mapping[str, str] = MappingProxyType({
    "create_api_gateway_account_role": (
        f"no key: API Gateway's logging role is not in the webhook stack any more; deploy the bundle's "
        f"{naming.ACCOUNT_SETUP_TEMPLATE} once per account and region instead (README: The account's API Gateway "
        "logging role), then remove the key"
    ),
})


def _require(condition: bool, setting: str, value: object, accepted: str) -> None:
    if not condition:
        raise ConfigError(f"{setting}={value!r} is invalid; accepted: {accepted}")


def _is_int(value: object) -> bool:
    # TOML's true/false are Python bools, and bool is an int subclass.
    return isinstance(value, int) and not isinstance(value, bool)


def _is_str(value: object, pattern: re.Pattern[str]) -> bool:
    # fullmatch: with match, ``$`` also accepts a trailing newline.
    return isinstance(value, str) and bool(pattern.fullmatch(value))


def _tag_text_ok(text: object, shortest: int, longest: int) -> bool:
    """AWS's tag rule: Unicode letters, digits, whitespace (category Z) and ``_ . : / = + - @``."""
    return (
        isinstance(text, str) and shortest <= len(text) <= longest
        and all(ch in _TAG_PUNCTUATION or unicodedata.category(ch)[0] in "LNZ" for ch in text)
    )


def validate_tag(key: object, value: object, where: str = "tag") -> None:
    """Raise ``ConfigError`` unless ``key``/``value`` is a stack tag CloudFormation accepts.

    CloudFormation's stack tags: key 1-128 characters, value 1-256, both from
    AWS's tag character set; ``aws:`` keys are AWS's own, and the keys the
    template sets on every resource from parameters stay the template's.
    """
    if not _tag_text_ok(key, 1, 128) or str(key).lower().startswith("aws:"):
        raise ConfigError(f"{where} key {key!r} is invalid; accepted: 1-128 {TAG_CHARACTERS}, not starting with 'aws:'")
    if key in RESERVED_TAG_KEYS:
        raise ConfigError(
            f"{where} key {key!r} is reserved; accepted: any other key (Environment, Team and CostCenter are "
            "set on every resource from the environment's name, team and cost_center)"
        )
    if not _tag_text_ok(value, 1, 256):
        raise ConfigError(f"{where} {key!r} value {value!r} is invalid; accepted: 1-256 {TAG_CHARACTERS}")


def validate(config: EnvironmentConfig) -> None:
    """Raise ``ConfigError`` naming the first invalid setting and what it accepts."""
    _require(_is_str(config.name, re.compile(ENVIRONMENT_NAME_PATTERN)), "name", config.name, ENVIRONMENT_NAME_ACCEPTED)
    for setting in ("team", "cost_center"):
        value = getattr(config, setting)
        _require(
            _is_str(value, _TAG_KEY_PATTERN) and len(value) <= 64,
            setting, value, "1-64 characters of letters, digits, spaces and _.:/=+@-",
        )
    _require(isinstance(config.runtime, str) and config.runtime in RUNTIMES, "runtime", config.runtime,
             ", ".join(RUNTIMES))
    for setting, bound in NUMERIC_BOUNDS.items():
        value = getattr(config, setting)
        _require(bound.admits(value), setting, value, bound.accepted)
    _require(
        _is_int(config.log_retention_days) and config.log_retention_days in LOG_RETENTION_DAYS,
        "log_retention_days", config.log_retention_days,
        ", ".join(str(d) for d in LOG_RETENTION_DAYS),
    )
    _require(
        config.signing_secret_arn == "" or _is_str(config.signing_secret_arn, _SECRET_ARN_PATTERN),
        "signing_secret_arn", config.signing_secret_arn,
        "empty (the stack creates the secret) or a Secrets Manager secret ARN",
    )
    _require(
        not isinstance(config.signing_secret_readers, tuple)
        or not any(isinstance(arn, str) and _ROOT_ARN.match(arn) for arn in config.signing_secret_readers),
        "signing_secret_readers", config.signing_secret_readers,
        "role or user ARNs, not an account's root (it exempts only the root user, not the account's roles; "
        "name the roles, e.g. arn:aws:iam::<account>:role/* for all of them)",
    )
    _require(
        isinstance(config.signing_secret_readers, tuple)
        and all(isinstance(arn, str) and re.fullmatch(PRINCIPAL_ARN_PATTERN, arn)
                for arn in config.signing_secret_readers),
        "signing_secret_readers", config.signing_secret_readers,
        "a tuple of IAM principal ARNs (arn:aws:iam::<12 digits>:role/<name> or user/<name>; * allowed)",
    )
    _require(
        config.alarm_topic_arn == "" or _is_str(config.alarm_topic_arn, _TOPIC_ARN_PATTERN),
        "alarm_topic_arn", config.alarm_topic_arn, "empty (no notifications) or an SNS topic ARN",
    )
    _require(_is_str(config.deploy_role, re.compile(ROLE_NAME_PATTERN)), "deploy_role", config.deploy_role,
             "empty (none) or an IAM role name in this account (1-64 letters, digits and +=,.@_-), not an ARN")
    _require(_is_str(config.permissions_boundary, re.compile(POLICY_NAME_PATTERN)), "permissions_boundary",
             config.permissions_boundary,
             "empty (none) or a managed policy name in this account (1-128 letters, digits and +=,.@_-), not an ARN")
    _require(
        config.deploy_role != naming.DEPLOY_ROLE or config.permissions_boundary == naming.PERMISSIONS_BOUNDARY,
        "deploy_role", config.deploy_role,
        f'another role, or permissions_boundary = "{naming.PERMISSIONS_BOUNDARY}" beside it (that role creates '
        "and changes roles only with that boundary on them)",
    )
    _require(isinstance(config.production, bool), "production", config.production, "true or false")
    _require(isinstance(config.stream, bool), "stream", config.stream, "true or false")
    _require(isinstance(config.tags, Mapping), "tags", config.tags,
             'a table of KEY = "VALUE" strings, e.g. tags = { Owner = "platform-team" }')
    for key, value in config.tags.items():
        validate_tag(key, value)
    _validate_rollout(config)


def _validate_rollout(config: EnvironmentConfig) -> None:
    """The release settings: deployment preference, rollback monitoring, cold-start options
    (SnapStart and provisioned concurrency, and the rules AWS sets on combining them)."""
    _require(
        config.deployment_preference in DEPLOYMENT_PREFERENCES,
        "deployment_preference", config.deployment_preference, ", ".join(DEPLOYMENT_PREFERENCES),
    )
    _require(
        _is_int(config.rollback_monitoring_minutes) and 0 <= config.rollback_monitoring_minutes <= 180,
        "rollback_monitoring_minutes", config.rollback_monitoring_minutes, "an integer from 0 to 180",
    )
    _require(
        len(config.signing_secret_arn) <= SIGNING_SECRET_ARN_MAX_LENGTH,
        "signing_secret_arn", config.signing_secret_arn,
        f"an ARN of at most {SIGNING_SECRET_ARN_MAX_LENGTH} characters "
        "(the published version's description carries it)",
    )
    _require(isinstance(config.snap_start, bool), "snap_start", config.snap_start, "true or false")
    _require(
        not config.snap_start or config.runtime in SNAP_START_RUNTIMES,
        "snap_start", config.snap_start,
        f"false with runtime={config.runtime!r}; SnapStart needs {', '.join(SNAP_START_RUNTIMES)}",
    )
    # Both are Lambda's own rules: it refuses provisioned concurrency on a SnapStart
    # version, and more provisioned than reserved concurrency; refused here, not mid-deploy.
    _require(
        not (config.snap_start and config.provisioned_concurrency),
        "provisioned_concurrency", config.provisioned_concurrency,
        "0 with snap_start=true (Lambda does not support SnapStart with provisioned concurrency)",
    )
    _require(
        not config.reserved_concurrency or config.provisioned_concurrency <= config.reserved_concurrency,
        "provisioned_concurrency", config.provisioned_concurrency,
        f"an integer from 0 to reserved_concurrency={config.reserved_concurrency} "
        "(Lambda refuses more provisioned than reserved concurrency)",
    )


# --- environments.toml -------------------------------------------------------------

def check_environment_name(name: str, flag: str = "--env") -> str:
    """``name`` if it follows the environment name pattern, else ``ConfigError``."""
    if not re.match(ENVIRONMENT_NAME_PATTERN, name):
        raise ConfigError(f"{flag} {name!r} is invalid; accepted: {ENVIRONMENT_NAME_ACCEPTED}")
    return name


def stack_name_of(name: str) -> str:
    """The default stack name of environment ``name``, whether or not the file lists it."""
    return f"{naming.STACK}-{check_environment_name(name)}"


def parse_environments(text: str, source: str = str(DEFAULT_ENVIRONMENTS_FILE)) -> Mapping[str, EnvironmentConfig]:
    """The environments of an ``environments.toml`` text, in file order; ``ConfigError`` names
    ``source``, the table, the key, the value and what is accepted."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{source}: not valid TOML ({error}); accepted: one [name] table per environment") from None
    if not document:
        raise ConfigError(f"{source}: no environment; accepted: one [name] table per environment, e.g. [dev]")
    environments: dict[str, EnvironmentConfig] = {}
    for name, table in document.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{source}: {name} = {table!r} is not an environment table; accepted: one [name] "
                              "table per environment")
        if not re.match(ENVIRONMENT_NAME_PATTERN, name):
            raise ConfigError(f"{source}: [{name}] is not a valid environment name; "
                              f"accepted: {ENVIRONMENT_NAME_ACCEPTED}")
        retired = sorted(set(table) & set(RETIRED_KEYS))
        if retired:
            raise ConfigError(f"{source} [{name}]: {retired[0]} is no longer a key; "
                              f"accepted: {RETIRED_KEYS[retired[0]]}")
        unknown = sorted(set(table) - set(ENVIRONMENT_KEYS))
        if unknown:
            raise ConfigError(f"{source} [{name}]: unknown key {unknown[0]!r}; accepted: {', '.join(ENVIRONMENT_KEYS)}")
        if name == PRODUCTION_NAME and table.get("production") is False:
            raise ConfigError(f"{source} [{name}]: production=False is invalid; accepted: true or no key "
                              f"({PRODUCTION_NAME} is always production)")
        # TOML arrays are lists; the config's sequences are tuples, so it stays frozen and hashable.
        values: dict[str, Any] = {key: tuple(value) if isinstance(value, list) else value
                                  for key, value in table.items()}
        try:
            environments[name] = EnvironmentConfig(name=name, **values)
        except ConfigError as error:
            raise ConfigError(f"{source} [{name}]: {error}") from None
    return MappingProxyType(environments)


def load_environments(path: Path = DEFAULT_ENVIRONMENTS_FILE) -> Mapping[str, EnvironmentConfig]:
    """Read and validate ``environments.toml`` (the CLI's edge; nothing else reads it)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file; accepted: --environments PATH, or run from the repository "
                          "root, which holds environments.toml") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot be read ({error}); accepted: a UTF-8 TOML file") from None
    return parse_environments(text, str(path))


def resolve_environment(environments: Mapping[str, EnvironmentConfig], name: str, based_on: str | None = None,
                        source: str = str(DEFAULT_ENVIRONMENTS_FILE)) -> EnvironmentConfig:
    """The environment ``name`` from the file, or an ephemeral one ``based_on`` another.

    A name that is not in the file is refused without ``based_on``, so a typo
    never creates a stack.  An ephemeral environment takes every setting and
    tag of its base except ``production``: it exists to be destroyed.
    """
    check_environment_name(name)
    if based_on is None:
        if name in environments:
            return environments[name]
        raise ConfigError(
            f"--env {name!r} is not in {source}; accepted: {', '.join(environments)}, or an ephemeral "
            f"environment with --based-on ENV (e.g. --env {name} --based-on {next(iter(environments))})"
        )
    if name in environments:
        raise ConfigError(f"--based-on is only for environments not in {source}, and {name!r} is in it; "
                          f"accepted: --env {name} without --based-on")
    if name == PRODUCTION_NAME:
        raise ConfigError(f"--env {name!r} cannot be ephemeral; accepted: any other name ({name} is production)")
    if based_on not in environments:
        raise ConfigError(f"--based-on {based_on!r} is not in {source}; accepted: {', '.join(environments)}")
    return dataclasses.replace(environments[based_on], name=name, production=False)
