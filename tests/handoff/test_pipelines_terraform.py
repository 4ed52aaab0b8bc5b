"""The Terraform example parses as HCL (python-hcl2) and uses only arguments the AWS provider documents.

Terraform itself would need the AWS provider from its registry, which no test
reaches, so the HCL is parsed instead and its arguments checked against the
provider's documentation (website/docs/r/cloudformation_stack.html.markdown
and s3_object.html.markdown of hashicorp/terraform-provider-aws).
"""

from __future__ import annotations

import json
from typing import Any

import hcl2
import pytest

from support.environments import SHIPPED
from webhook_templates.handoff import pipelines
from webhook_templates.stack.limits import TEMPLATE_BODY_LIMIT
from webhook_templates.stack.parameters import parameter_file
from webhook_templates.stack.tags import stack_tags

#: aws_cloudformation_stack's documented arguments.
STACK_ARGUMENTS = {"region", "name", "template_body", "template_url", "capabilities", "disable_rollback",
                   "notification_arns", "on_failure", "parameters", "policy_body", "policy_url", "tags",
                   "iam_role_arn", "timeout_in_minutes"}
#: A subset of aws_s3_object's documented arguments: those an upload of a file can use.
S3_OBJECT_ARGUMENTS = {"bucket", "key", "source", "source_hash", "etag", "content_type", "kms_key_id",
                       "server_side_encryption", "storage_class", "tags", "acl", "bucket_key_enabled"}


def _unquoted(value: Any) -> Any:
    """python-hcl2 keeps a string literal's quotes; drop them (recursively)."""
    if isinstance(value, str) and value.startswith('"') and value.endswith('"'):
        try:
            return json.loads(value)
        except ValueError:  # an interpolation with quoted strings inside
            return value[1:-1]
    if isinstance(value, dict):
        return {_unquoted(k): _unquoted(v) for k, v in value.items() if k != "__is_block__"}
    if isinstance(value, list):
        return [_unquoted(v) for v in value]
    return value


def resources(text: str) -> dict[str, dict[str, Any]]:
    """``{type: arguments}`` of the file's resources (one of each type here)."""
    found: dict[str, dict[str, Any]] = {}
    for block in _unquoted(hcl2.loads(text)).get("resource", []):
        for kind, named in block.items():
            (arguments,) = named.values()
            found[kind] = arguments
    return found


@pytest.mark.parametrize("environment", sorted(SHIPPED))
@pytest.mark.parametrize("template_bytes", [TEMPLATE_BODY_LIMIT, TEMPLATE_BODY_LIMIT + 1])
def test_the_stack_resource_carries_the_parameter_file_and_uses_documented_arguments(
        environment: str, template_bytes: int) -> None:
    files = {f.path: f.content for f in pipelines.pipeline_files(SHIPPED, ["CAPABILITY_NAMED_IAM"], template_bytes)}
    found = resources(files[f"pipelines/{environment}/main.tf"])
    stack = found["aws_cloudformation_stack"]
    assert set(stack) <= STACK_ARGUMENTS
    config = SHIPPED[environment]
    assert stack["name"] == config.stack_name
    assert stack["parameters"] == {p["ParameterKey"]: p["ParameterValue"] for p in parameter_file(config)}
    assert stack["tags"] == stack_tags(config)
    assert stack["capabilities"] == ["CAPABILITY_NAMED_IAM"]
    assert "stack-policy.json" in stack["policy_body"]
    if template_bytes > TEMPLATE_BODY_LIMIT:
        assert "template_body" not in stack
        assert set(found["aws_s3_object"]) <= S3_OBJECT_ARGUMENTS
        assert found["aws_s3_object"]["bucket"] == "${var.template_bucket}"
        assert "aws_s3_object.template.key" in stack["template_url"]
    else:
        assert "template_url" not in stack and "aws_s3_object" not in found
        assert "template.json" in stack["template_body"]
