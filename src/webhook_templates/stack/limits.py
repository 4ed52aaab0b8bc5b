"""CloudFormation's limits that the template, its renderings and the deploy flow must respect."""

from __future__ import annotations

#: The largest ``TemplateBody`` CloudFormation accepts; larger needs ``TemplateURL`` (an S3 object).
TEMPLATE_BODY_LIMIT = 51_200
