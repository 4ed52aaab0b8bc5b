"""What a deploy sends: the rendered template (inline or through S3) and a parameter file.

By default that is ``build/template.json`` and ``build/parameters/<env>.json``,
re-rendered first if they differ from what the generator produces now.  Any
rendered template and parameter file can be given instead, which is how a
platform team deploys the handoff bundle.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from ..config import NUMERIC_BOUNDS, ConfigError, EnvironmentConfig
from ..handoff.bundle import build_files, check_drift, write_bundle
from ..stack.capabilities import required_capabilities
from ..stack.limits import TEMPLATE_BODY_LIMIT, TEMPLATE_S3_PREFIX
from ..stack.parameters import SPECS
from . import messages


@dataclass(frozen=True)
class TemplateSource:
    """A rendered template file and its text."""

    path: Path
    body: str

    @property
    def size(self) -> int:
        """Size in bytes, as CloudFormation counts it against ``TemplateBody``'s limit."""
        return len(self.body.encode("utf-8"))

    @property
    def s3_key(self) -> str:
        """Content-addressed key: the same template is uploaded once, and never overwritten by another."""
        digest = hashlib.sha256(self.body.encode("utf-8")).hexdigest()
        suffix = self.path.suffix if self.path.suffix in (".json", ".yaml", ".yml") else ".json"
        return f"{TEMPLATE_S3_PREFIX}/{digest}{suffix}"


def render_if_stale(build_dir: Path, environments: Mapping[str, EnvironmentConfig]) -> list[str]:
    """Re-render ``build_dir`` for ``environments`` if it differs from a fresh render; the paths that were stale."""
    files = build_files(environments)
    stale = check_drift(files, build_dir)
    if stale:
        write_bundle(files, build_dir)
    return stale


def default_parameters_path(template_path: Path, environment: str) -> Path:
    """``parameters/<env>.json`` beside the template: the layout of ``build/`` and of the handoff bundle."""
    return template_path.parent / "parameters" / f"{environment}.json"


def load_template(path: Path) -> TemplateSource:
    """Read a rendered template, or raise ``ConfigError`` naming the path."""
    if not path.is_file():
        raise ConfigError(messages.template_not_a_file(path))
    try:
        return TemplateSource(path, path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as error:
        raise ConfigError(messages.template_not_utf8(path, error.reason, error.start)) from None


def _parsed(template: TemplateSource) -> dict[str, Any] | None:
    """The template (JSON or YAML) as plain data; None if it cannot be parsed here.

    An unparseable template is CloudFormation's to reject, with its own message.
    """
    import cfn_flip

    try:
        parsed = cfn_flip.load(template.body)[0]
    except Exception:  # noqa: BLE001 (any parse error: leave the verdict to CloudFormation)
        return None
    return parsed if isinstance(parsed, dict) else None


def parameter_definitions(template: TemplateSource) -> dict[str, Any] | None:
    """The template's ``Parameters`` section (name -> definition); None if the template cannot be parsed here."""
    parsed = _parsed(template)
    if parsed is None or not isinstance(parsed.get("Parameters", {}), dict):
        return None
    return dict(parsed.get("Parameters", {}))


def template_parameters(template: TemplateSource) -> set[str] | None:
    """The names of the template's ``Parameters``; None if the template cannot be parsed here."""
    definitions = parameter_definitions(template)
    return None if definitions is None else set(definitions)


def template_capabilities(template: TemplateSource) -> list[str]:
    """The capabilities the template needs, derived as HANDOFF.md derives them (none if unparseable)."""
    parsed = _parsed(template)
    return required_capabilities(parsed) if parsed is not None and isinstance(parsed.get("Resources"), dict) else []


def _value(path: Path, key: str, value: Any) -> str:
    """A parameter value as CloudFormation takes it: strings as they are, numbers written out."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return json.dumps(value)
    raise ConfigError(messages.parameter_value_type(path, key, json.dumps(value)))


def _read_json(path: Path) -> Any:
    """The parameter file's JSON, or ``ConfigError`` naming what is wrong with it."""
    if not path.is_file():
        raise ConfigError(messages.parameters_not_a_file(path))
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as error:
        raise ConfigError(messages.parameters_not_utf8(path, error.reason, error.start)) from None
    except json.JSONDecodeError as error:
        raise ConfigError(messages.parameters_not_json(path, error)) from None


def _entries(path: Path, data: Any) -> list[dict[str, Any]]:
    """The file's ``ParameterKey``/``ParameterValue`` entries (a flat object becomes that list), shape-checked."""
    if isinstance(data, dict):
        data = [{"ParameterKey": key, "ParameterValue": value} for key, value in data.items()]
    if not isinstance(data, list) or not all(
        isinstance(item, dict) and isinstance(item.get("ParameterKey"), str) and "ParameterValue" in item
        for item in data
    ):
        raise ConfigError(messages.parameters_shape(path))
    for item in data:
        extra = sorted(set(item) - {"ParameterKey", "ParameterValue"})
        if extra:
            raise ConfigError(messages.parameters_unknown_keys(path, item["ParameterKey"], extra))
    return data


def _check_declared(path: Path, parameters: list[dict[str, str]], template: TemplateSource | None) -> None:
    """Refuse a parameter the template does not declare (when the template can be read here)."""
    declared = template_parameters(template) if template is not None else None
    if template is None or declared is None:
        return
    unknown = sorted({p["ParameterKey"] for p in parameters} - declared)
    if unknown:
        raise ConfigError(messages.parameters_undeclared(path, unknown, template.path, declared))


def load_parameters(path: Path, template: TemplateSource | None = None,
                    environment: str | None = None) -> list[dict[str, str]]:
    """Read a parameter file: ``aws cloudformation``'s list of ParameterKey/ParameterValue, or a flat object.

    Refused (``ConfigError``, exit 2): a value that is not a string or a number
    (``null`` or ``true`` would reach CloudFormation as "None" or "True"), an
    entry with other keys than those two, a parameter the template does not
    declare, and an ``Environment`` other than ``environment`` (the dev stack
    would get the prod table's name).
    """
    parameters = [{"ParameterKey": item["ParameterKey"],
                   "ParameterValue": _value(path, item["ParameterKey"], item["ParameterValue"])}
                  for item in _entries(path, _read_json(path))]
    _check_declared(path, parameters, template)
    given = {p["ParameterKey"]: p["ParameterValue"] for p in parameters}
    if environment is not None and "Environment" in given and given["Environment"] != environment:
        raise ConfigError(messages.parameters_other_environment(path, given["Environment"], environment))
    return parameters


def default_bucket(account: str, region: str) -> str:
    """The upload bucket when ``--bucket`` is not given: one per account and region."""
    return f"cfn-templates-{account}-{region}"


def ensure_bucket(s3: Any, bucket: str, region: str, account: str) -> None:
    """Create ``bucket`` if it does not exist: private, encrypted, in ``region``.

    ``ExpectedBucketOwner`` makes the check fail rather than upload into a
    bucket of the same name that another account owns.
    """
    try:
        s3.head_bucket(Bucket=bucket, ExpectedBucketOwner=account)
        return
    except ClientError as error:
        if error.response["Error"]["Code"] not in ("404", "NoSuchBucket", "NotFound"):
            raise
    location = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=bucket, **location)
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True,
        "BlockPublicPolicy": True, "RestrictPublicBuckets": True,
    })
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}],
    })


def upload_template(s3: Any, template: TemplateSource, bucket: str, region: str, account: str) -> str:
    """Upload ``template`` under its content hash; the ``TemplateURL`` to create the change set with."""
    ensure_bucket(s3, bucket, region, account)
    s3.put_object(Bucket=bucket, Key=template.s3_key, Body=template.body.encode("utf-8"),
                  ExpectedBucketOwner=account, ServerSideEncryption="AES256")
    return f"https://{bucket}.s3.{region}.amazonaws.com/{template.s3_key}"


def fits_inline(template: TemplateSource) -> bool:
    """Whether CloudFormation accepts the template as ``TemplateBody`` (at most 51,200 bytes)."""
    return template.size <= TEMPLATE_BODY_LIMIT


def _allowed_values(value: str, spec: dict[str, Any]) -> str | None:
    allowed = spec.get("AllowedValues")
    if allowed is not None and value not in [str(a) for a in allowed]:
        return ", ".join(str(a) for a in allowed)
    return None


def _number(value: str, spec: dict[str, Any]) -> str | None:
    if spec.get("Type") != "Number":
        return None
    try:
        number = float(value)
    except ValueError:
        return messages.A_NUMBER
    low, high = spec.get("MinValue"), spec.get("MaxValue")
    if (low is not None and number < float(low)) or (high is not None and number > float(high)):
        return messages.number_range(low, high)
    return None


def _length(value: str, spec: dict[str, Any]) -> str | None:
    low, high = spec.get("MinLength"), spec.get("MaxLength")
    if (low is not None and len(value) < int(low)) or (high is not None and len(value) > int(high)):
        return messages.length_range(low, high)
    return None


def _pattern(value: str, spec: dict[str, Any]) -> str | None:
    pattern = spec.get("AllowedPattern")
    if pattern is not None and re.fullmatch(pattern, value) is None:
        return spec.get("ConstraintDescription") or messages.matching(pattern)
    return None


def _constraint_error(value: str, spec: dict[str, Any]) -> str | None:
    """What ``value`` breaks of a parameter's constraints (CloudFormation's own checks, in its order), or None."""
    for check in (_allowed_values, _number, _length, _pattern):
        problem = check(value, spec)
        if problem:
            return problem
    return None


#: Number parameters of whole numbers only.  CloudFormation's Number also takes ``35.0``, ``+35``
#: or ``1e1`` and passes the text on as given: to the function's environment, whose strict
#: reading would then refuse every delivery, and to Lambda's and API Gateway's settings.
WHOLE_NUMBERS = frozenset(spec.key for spec in SPECS
                          if spec.setting in NUMERIC_BOUNDS and NUMERIC_BOUNDS[spec.setting].integer)


def _whole_number(key: str, value: str) -> str | None:
    if key in WHOLE_NUMBERS and not re.fullmatch(r"[0-9]+", value):
        return messages.A_WHOLE_NUMBER
    return None


#: Overrides that would make the stack disagree with its own name.
NOT_OVERRIDABLE = {"Environment": messages.ENVIRONMENT_NOT_OVERRIDABLE}


def apply_overrides(parameters: list[dict[str, str]], overrides: Mapping[str, str],
                    template: TemplateSource) -> list[dict[str, str]]:
    """``parameters`` with ``overrides`` (``--parameter-overrides``) applied, each checked against the
    template's definition of that parameter, so a bad value stops here (exit 2) rather than in CloudFormation."""
    if not overrides:
        return parameters
    known = parameter_definitions(template)
    for key, value in overrides.items():
        if key in NOT_OVERRIDABLE:
            raise ConfigError(messages.override_refused(key, value, NOT_OVERRIDABLE[key]))
        if known is None:
            continue  # a template this tool cannot parse: CloudFormation judges the values
        if key not in known:
            raise ConfigError(messages.override_unknown(key, template.path,
                                                        [k for k in known if k not in NOT_OVERRIDABLE]))
        problem = _whole_number(key, value) or _constraint_error(value, known[key])
        if problem:
            raise ConfigError(messages.override_invalid(key, value, problem))
    result = [p for p in parameters if p["ParameterKey"] not in overrides]
    return result + [{"ParameterKey": key, "ParameterValue": value} for key, value in overrides.items()]
