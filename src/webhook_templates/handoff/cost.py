"""What a million webhooks cost in each environment, from its parameter values and list prices.

The per-environment inputs are the values the stack is deployed with
(``LambdaMemorySize`` and ``ProvisionedConcurrency`` from the parameter file,
whether the stack creates the signing secret); the per-request facts are the handler's (4 write request
units per accepted delivery: a delivery marker and the transaction, each under
1 KB, in one ``TransactWriteItems`` across the two tables, which counts double; the
markers are stored for ``DeliveryRetentionDays``).  What cannot be read
from the template (function duration, log line sizes, cold starts,
duplicates) is an assumption, named in the table.  Free tiers are left out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .. import metrics
from ..config import EnvironmentConfig
from ..stack.parameters import parameter_values
from .sender_contract import HandlerError

#: When the prices below were taken from the AWS pricing pages (us-east-1, on-demand, no free tier).
PRICES_AS_OF = "2025-06-01"
REGION = "us-east-1"
MILLION = 1_000_000

# Prices in USD.
API_GATEWAY_REST_PER_MILLION = 3.50           # first 333 million requests a month
LAMBDA_REQUESTS_PER_MILLION = 0.20
LAMBDA_ARM64_PER_GB_SECOND = 0.0000133334
#: Provisioned concurrency on arm64, per GB-second it is configured, whether invoked or not.
LAMBDA_ARM64_PROVISIONED_PER_GB_SECOND = 0.0000033334
#: AWS's pricing examples count a month as 730 hours.
SECONDS_PER_MONTH = 730 * 3600
DYNAMODB_WRITE_UNITS_PER_MILLION = 0.625      # on-demand, since the November 2024 price cut
DYNAMODB_READ_UNITS_PER_MILLION = 0.125
DYNAMODB_STORAGE_PER_GB_MONTH = 0.25          # Standard table class
KMS_PER_10K_REQUESTS = 0.03
KMS_KEY_PER_MONTH = 1.00
SECRETS_MANAGER_PER_10K_CALLS = 0.05
SECRETS_MANAGER_SECRET_PER_MONTH = 0.40
LOG_INGESTION_PER_GB = 0.50
#: Per metric a month (first 10,000); EMF's metrics cost no API calls, only this and the log bytes.
CUSTOM_METRIC_PER_MONTH = 0.30

# Per-request facts and assumptions.
WRITE_UNITS_PER_DELIVERY = 4                  # the handler's TransactWriteItems of two items under 1 KB
#: The ConditionCheck on an earlier version's marker, counted as a transactional write, while the
#: upgrade window is open (a retention and a day from the deliveries table's creation).
UPGRADE_WINDOW_WRITE_UNITS = 2
#: A marker's stored size: its attributes (webhook-id, response, body hash, times) and DynamoDB's
#: 100 bytes of per-item overhead.
ASSUMED_MARKER_BYTES = 400
DAYS_PER_MONTH = 730 / 24
#: Assumed warm duration of one delivery on arm64 (a signature check, a parse, one DynamoDB call).
ASSUMED_DURATION_MS = 60
#: Assumed share of deliveries that are retries of one already stored (1 read unit each).
ASSUMED_DUPLICATE_SHARE = 0.01
#: Assumed cold starts (and secret refreshes) per million deliveries: each reads the secret once
#: and decrypts it (and the environment) with the key; DynamoDB and CloudWatch Logs cache their
#: data keys, so they add no per-request KMS calls.
ASSUMED_SECRET_READS_PER_MILLION = 1_000
KMS_REQUESTS_PER_SECRET_READ = 2
#: Assumed log bytes per delivery: the function's JSON lines (START, the handler's line, END,
#: REPORT) without the EMF members (``emf_bytes`` counts those), and one access-log line.
ASSUMED_FUNCTION_LOG_BYTES = 1_200
ASSUMED_ACCESS_LOG_BYTES = 600
#: An epoch-milliseconds timestamp, as wide as every one until the year 2286.
_EMF_TIMESTAMP = 10**12


def emf_bytes(config: EnvironmentConfig) -> int:
    """The bytes the EMF members add to an accepted delivery's log line in ``config``'s environment.

    Lambda's JSON log format writes the line with ``json.dumps``' separators; the members are
    ``_aws`` (metrics.py's directives), the dimensions and metric the line did not carry before
    (``environment``, ``reason``, ``deliveries``); ``outcome`` and ``latencyMs`` were there already.
    """
    members = {metrics.REASON: metrics.PROCESSED, metrics.ENVIRONMENT: config.name, metrics.DELIVERIES: 1,
               "_aws": {"Timestamp": _EMF_TIMESTAMP, "CloudWatchMetrics": metrics.emf_directives()}}
    return len(json.dumps(members)) - len("{}") + len(", ")


def _series(errors: Sequence[HandlerError]) -> list[dict[str, str]]:
    """Every (outcome, reason) a line can carry: the handler's rule, a 4xx is rejected, a 5xx failed."""
    accepted = [{metrics.OUTCOME: outcome, metrics.REASON: outcome} for outcome in (metrics.PROCESSED,
                                                                                   metrics.DUPLICATE)]
    refused = [{metrics.OUTCOME: metrics.REJECTED if e.status < 500 else metrics.FAILED, metrics.REASON: e.code}
               for e in errors]
    # Every outcome is a possible series, whichever codes the handler has.
    return accepted + refused + [{metrics.OUTCOME: outcome} for outcome in metrics.OUTCOMES]


def custom_metrics(errors: Sequence[HandlerError]) -> int:
    """Custom metrics per environment: each metric name with each set of dimension values it is published
    with (CloudWatch's unit of billing), from metrics.py's directives and the handler's error codes."""
    series = _series(errors)
    return sum(
        len({tuple(line.get(d, "") for d in dimensions) for line in series
             if all(d in line for d in dimensions if d != metrics.ENVIRONMENT)})
        for directive in metrics.emf_directives()
        for _metric in directive["Metrics"]
        for dimensions in directive["Dimensions"]
    )


@dataclass(frozen=True)
class Line:
    """One row of the cost table: what it is, how it is computed, its cost per million webhooks."""

    item: str
    basis: str
    usd: float


def _parameters(config: EnvironmentConfig, *keys: str) -> tuple[int, ...]:
    """The numeric values ``config`` deploys ``keys`` with, from its parameter file (built once)."""
    values = parameter_values(config)
    return tuple(int(values[key]) for key in keys)


def _memory_mb(config: EnvironmentConfig) -> int:
    (memory,) = _parameters(config, "LambdaMemorySize")
    return memory


def marker_storage(config: EnvironmentConfig) -> Line:
    """A million delivery markers, each kept for the retention, then deleted by TTL (free)."""
    (days,) = _parameters(config, "DeliveryRetentionDays")
    gb_months = MILLION * ASSUMED_MARKER_BYTES / 1024**3 * days / DAYS_PER_MONTH
    return Line("DynamoDB storage (delivery markers)",
                f"{ASSUMED_MARKER_BYTES} bytes x {days} days = {gb_months:.2f} GB-month",
                gb_months * DYNAMODB_STORAGE_PER_GB_MONTH)


def per_million(config: EnvironmentConfig) -> list[Line]:
    """The cost of a million accepted webhooks for ``config``'s parameter values."""
    memory_gb = _memory_mb(config) / 1024
    gb_seconds = MILLION * ASSUMED_DURATION_MS / 1000 * memory_gb
    write_units = MILLION * WRITE_UNITS_PER_DELIVERY
    read_units = MILLION * ASSUMED_DUPLICATE_SHARE
    kms_requests = ASSUMED_SECRET_READS_PER_MILLION * KMS_REQUESTS_PER_SECRET_READ
    emf = emf_bytes(config)
    log_bytes = ASSUMED_FUNCTION_LOG_BYTES + emf + ASSUMED_ACCESS_LOG_BYTES
    log_gb = MILLION * log_bytes / 1024**3
    return [
        Line("API Gateway REST requests", f"{MILLION:,} requests", API_GATEWAY_REST_PER_MILLION),
        Line("Lambda requests", f"{MILLION:,} invocations", LAMBDA_REQUESTS_PER_MILLION),
        Line("Lambda duration (arm64)", f"{ASSUMED_DURATION_MS} ms x {_memory_mb(config)} MB = {gb_seconds:,.0f} GB-s",
             gb_seconds * LAMBDA_ARM64_PER_GB_SECOND),
        Line("DynamoDB writes (on-demand)",
             f"{WRITE_UNITS_PER_DELIVERY} WRU per delivery = {write_units:,} WRU "
             f"({WRITE_UNITS_PER_DELIVERY + UPGRADE_WINDOW_WRITE_UNITS} in the upgrade window)",
             write_units / MILLION * DYNAMODB_WRITE_UNITS_PER_MILLION),
        Line("DynamoDB reads (duplicates)", f"{ASSUMED_DUPLICATE_SHARE:.0%} duplicates x 1 RRU = {read_units:,.0f} RRU",
             read_units / MILLION * DYNAMODB_READ_UNITS_PER_MILLION),
        marker_storage(config),
        Line("KMS requests", f"{kms_requests:,} (secret reads and cold starts)",
             kms_requests / 10_000 * KMS_PER_10K_REQUESTS),
        Line("Secrets Manager API calls", f"{ASSUMED_SECRET_READS_PER_MILLION:,} GetSecretValue",
             ASSUMED_SECRET_READS_PER_MILLION / 10_000 * SECRETS_MANAGER_PER_10K_CALLS),
        Line("CloudWatch Logs ingestion",
             f"{log_bytes:,} bytes per delivery ({emf:,} of EMF) = {log_gb:.2f} GB",
             log_gb * LOG_INGESTION_PER_GB),
    ]


def provisioned_per_month(config: EnvironmentConfig) -> float:
    """What the ``live`` alias's provisioned concurrency costs a month: billed while configured, used or not.

    Invocations it serves are billed at a lower duration rate than on-demand
    ones; the per-million table keeps the on-demand rate, an upper bound.
    """
    provisioned, memory = _parameters(config, "ProvisionedConcurrency", "LambdaMemorySize")
    gb = provisioned * memory / 1024
    return gb * SECONDS_PER_MONTH * LAMBDA_ARM64_PROVISIONED_PER_GB_SECOND


def monthly_fixed(config: EnvironmentConfig) -> float:
    """What the stack costs each month whatever the traffic: the key, the secret if it creates one,
    and provisioned concurrency if the environment sets it."""
    secret = SECRETS_MANAGER_SECRET_PER_MONTH if not config.signing_secret_arn else 0.0
    return KMS_KEY_PER_MONTH + secret + provisioned_per_month(config)


def cost_rows(environments: Mapping[str, EnvironmentConfig],
              errors: Sequence[HandlerError] = ()) -> tuple[list[str], list[list[str]]]:
    """Headers and rows of HANDOFF's cost table: one USD column per environment (``errors``: the
    handler's error codes, each a reason series of its metrics)."""
    names = list(environments)
    lines = {name: per_million(config) for name, config in environments.items()}
    headers = ["Per million webhooks", "Basis", *[f"`{name}` USD" for name in names]]
    rows = []
    for index, line in enumerate(lines[names[0]]):
        bases = list(dict.fromkeys(lines[name][index].basis for name in names))
        basis = bases[0] if len(bases) == 1 else "; ".join(
            f"{name}: {lines[name][index].basis}" for name in names)
        rows.append([line.item, basis, *[f"{lines[name][index].usd:,.2f}" for name in names]])
    rows.append(["**Total**", "", *[f"**{sum(line.usd for line in lines[name]):,.2f}**" for name in names]])
    rows.append(["Each month, whatever the traffic",
                 "the KMS key; the signing secret when the stack creates it; provisioned concurrency "
                 "(x memory, 730 h) when set",
                 *[f"{monthly_fixed(environments[name]):,.2f}" for name in names]])
    count = custom_metrics(errors)
    rows.append(["Custom metrics each month, with traffic",
                 f"{count} metrics (a name with each set of dimension values) x "
                 f"${CUSTOM_METRIC_PER_MONTH:.2f}; at most: a series published in only some hours costs less",
                 *[f"{count * CUSTOM_METRIC_PER_MONTH:,.2f}" for _ in names]])
    return headers, rows
