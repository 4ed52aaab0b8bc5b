"""The CDK peer declares what the template does: resources (type, condition, retention), parameters,
conditions and outputs.

``make test`` has no aws-cdk-lib (it lives in ``.venv-cdk``, with Node.js), so ``build_stack`` runs
against a stand-in that records every ``CfnXxx`` construct: what the peer declares is compared with
the template ``build_template`` makes now, and a template change the peer misses fails here, not
only in ``make bench``'s resource-type comparison.
"""

from __future__ import annotations

import importlib.util
import re
import sys
import types
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock

import pytest

APP_PY = Path(__file__).resolve().parents[2] / "benchmarks" / "cdk_app" / "app.py"
#: aws-cdk-lib's modules the peer imports -> the service in CloudFormation's type names.
SERVICES = {"aws_apigateway": "ApiGateway", "aws_cloudwatch": "CloudWatch", "aws_codedeploy": "CodeDeploy",
            "aws_dynamodb": "DynamoDB", "aws_iam": "IAM", "aws_kms": "KMS", "aws_lambda": "Lambda",
            "aws_logs": "Logs", "aws_secretsmanager": "SecretsManager"}
#: CDK's keyword for each CloudFormation parameter attribute the peer states.
PARAMETER_KEYS = {"type": "Type", "default": "Default", "allowed_values": "AllowedValues",
                  "allowed_pattern": "AllowedPattern", "constraint_description": "ConstraintDescription",
                  "min_value": "MinValue", "max_value": "MaxValue", "min_length": "MinLength",
                  "max_length": "MaxLength"}
#: Versions and deployments are named by a hash of what they publish; CDK's form hashes differently.
HASH_SUFFIX = re.compile(r"[0-9a-f]{10}$")


class Recorded:
    """Every ``Cfn*`` construct made through the stand-in: (module, class, logical ID, keywords, object)."""

    def __init__(self) -> None:
        self.constructs: list[tuple[str, str, str, dict[str, Any], MagicMock]] = []

    def of(self, module: str, cls: str) -> list[tuple[str, dict[str, Any], MagicMock]]:
        return [(logical_id, kwargs, made) for mod, name, logical_id, kwargs, made in self.constructs
                if (mod, name) == (module, cls)]


class StandIn(types.ModuleType):
    """An aws-cdk-lib module: ``Cfn*`` classes record what they make, anything else is a mock."""

    def __init__(self, name: str, recorded: Recorded) -> None:
        super().__init__(name)
        self._recorded = recorded

    def __getattr__(self, name: str) -> Any:
        if not name.startswith("Cfn"):
            return MagicMock(name=f"{self.__name__}.{name}")
        module, recorded = self.__name__, self._recorded

        def construct(*args: Any, **kwargs: Any) -> MagicMock:
            made = MagicMock(name=name)
            if len(args) == 2:  # (scope, logical ID): a construct, not an option (CfnUpdatePolicy)
                recorded.constructs.append((module, name, args[1], kwargs, made))
            return made

        # Property classes (``CfnTable.KeySchemaProperty``) are attributes of the class: a mock's.
        return MagicMock(side_effect=construct)


@pytest.fixture(scope="module")
def recorded() -> Recorded:
    """What the peer's ``build_stack`` declares, run against the stand-in aws-cdk-lib."""
    record = Recorded()
    cdk = StandIn("aws_cdk", record)
    stand_ins = {"aws_cdk": cdk}
    for module in SERVICES:
        stand_ins[f"aws_cdk.{module}"] = StandIn(f"aws_cdk.{module}", record)
        setattr(cdk, module, stand_ins[f"aws_cdk.{module}"])
    with pytest.MonkeyPatch.context() as patch:
        for name, stand_in in stand_ins.items():
            patch.setitem(sys.modules, name, stand_in)
        patch.setattr(sys, "path", list(sys.path))  # the app puts src/ first
        spec = importlib.util.spec_from_file_location("cdk_peer_app", APP_PY)
        assert spec and spec.loader
        app = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(app)
        # The hash reads resolved CDK properties, which a stand-in does not have.
        patch.setattr(app, "digest", lambda _stack, _resources: "0" * 10)
        app.build_stack(MagicMock(name="app"))
    return record


def _condition_names(recorded: Recorded) -> dict[int, str]:
    return {id(made): logical_id for logical_id, _, made in recorded.of("aws_cdk", "CfnCondition")}


def _resources(recorded: Recorded) -> dict[str, dict[str, Any]]:
    conditions = _condition_names(recorded)
    resources: dict[str, dict[str, Any]] = {}
    for module, cls, logical_id, _, made in recorded.constructs:
        if module == "aws_cdk":
            continue
        resources[HASH_SUFFIX.sub("", logical_id)] = {
            "Type": f"AWS::{SERVICES[module.removeprefix('aws_cdk.')]}::{cls.removeprefix('Cfn')}",
            "Condition": conditions.get(id(made.cfn_options.condition)),
            "Retained": made.apply_removal_policy.called,
        }
    return resources


def test_the_peer_declares_the_templates_resources(recorded: Recorded, body: dict[str, Any]) -> None:
    ours = {HASH_SUFFIX.sub("", logical_id): {"Type": resource["Type"], "Condition": resource.get("Condition"),
                                              "Retained": resource.get("DeletionPolicy") == "Retain"}
            for logical_id, resource in body["Resources"].items()}
    assert _resources(recorded) == ours


def test_the_peer_declares_the_templates_parameters(recorded: Recorded, body: dict[str, Any]) -> None:
    peer = {name: {PARAMETER_KEYS[key]: str(value) if key == "default" else value for key, value in kwargs.items()}
            for name, kwargs, _ in recorded.of("aws_cdk", "CfnParameter")}
    ours = {name: {key: value for key, value in parameter.items() if key != "Description"}
            for name, parameter in body["Parameters"].items()}
    assert peer == ours


def test_the_peer_declares_the_templates_conditions_and_outputs(recorded: Recorded, body: dict[str, Any]) -> None:
    assert [name for name, _, _ in recorded.of("aws_cdk", "CfnCondition")] == list(body["Conditions"])
    conditions = _condition_names(recorded)
    peer = {logical_id.removesuffix("Output"): conditions.get(id(kwargs.get("condition")))
            for logical_id, kwargs, _ in recorded.of("aws_cdk", "CfnOutput")}
    assert peer == {name: output.get("Condition") for name, output in body["Outputs"].items()}
