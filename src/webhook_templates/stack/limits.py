"""CloudFormation's limits that the template, its renderings and the deploy flow must respect."""

from __future__ import annotations

#: The largest ``TemplateBody`` CloudFormation accepts; larger needs ``TemplateURL`` (an S3 object).
TEMPLATE_BODY_LIMIT = 51_200
#: Where a template over that limit goes in its S3 bucket: ``deploy``, the change-set blocks and
#: every pipeline format upload under this prefix.
TEMPLATE_S3_PREFIX = "webhook-templates"
#: The shell variable the blocks and pipeline formats read that bucket's name from.
TEMPLATE_BUCKET_VARIABLE = "TEMPLATE_BUCKET"
