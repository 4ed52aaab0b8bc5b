"""What the deploy derives from the template it is given."""

from __future__ import annotations

from pathlib import Path

import pytest

from webhook_templates.deploy.inputs import TemplateSource, template_capabilities


@pytest.mark.parametrize(("body", "expected"), [
    ('{"Resources": {"R": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "r"}}}}', ["CAPABILITY_NAMED_IAM"]),
    ("Resources:\n  R:\n    Type: AWS::IAM::Role\n    Properties: {}\n", ["CAPABILITY_IAM"]),
    ('{"Resources": {"B": {"Type": "AWS::S3::Bucket"}}}', []),
    ("not: [a template", []),  # CloudFormation rejects it with its own message
])
def test_the_deploy_asks_for_the_capabilities_the_template_needs(body: str, expected: list[str]) -> None:
    """Derived like HANDOFF.md's, from the template actually deployed (JSON or YAML), never hard-coded."""
    assert template_capabilities(TemplateSource(Path("t"), body)) == expected
