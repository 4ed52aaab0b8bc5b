"""The template in the forms every consumer reads, not only CloudFormation.

aws-cdk-lib's ``CfnInclude`` validates each resource against the registry
schema ("schema should be an 'object'" for a model's JSON-string ``Schema``)
and keeps conditions, parameters and resources in one namespace, as do other
engines building change sets.  The equivalent checks, on the rendered
``template.json``, with the registry schema cfn-lint ships.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

from webhook_templates.handoff.render import RenderedFile


@pytest.fixture(scope="module")
def deployed(files: dict[str, RenderedFile]) -> dict[str, Any]:
    return json.loads(files["template.json"].content)


def test_every_model_schema_is_an_object(deployed: dict[str, Any]) -> None:
    registry = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", "AWS::ApiGateway::Model").schema
    models = [r for r in deployed["Resources"].values() if r["Type"] == "AWS::ApiGateway::Model"]

    assert models
    for model in models:
        schema = model["Properties"]["Schema"]
        # CfnInclude's requirement (the registry allows a string too; the CDK's L1 type does not).
        assert isinstance(schema, dict), "a JSON-string Schema breaks CfnInclude"
        jsonschema.validate(schema, registry["properties"]["Schema"])
        jsonschema.Draft4Validator.check_schema(schema)  # and the draft-4 schema API Gateway needs


def test_condition_names_are_not_parameter_or_resource_names(deployed: dict[str, Any]) -> None:
    conditions = set(deployed["Conditions"])
    assert conditions
    assert conditions.isdisjoint(deployed["Parameters"])
    assert conditions.isdisjoint(deployed["Resources"])
