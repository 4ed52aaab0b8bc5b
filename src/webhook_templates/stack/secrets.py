"""The webhook signing secret the function verifies deliveries with."""

from __future__ import annotations

import json

from troposphere import If, Ref, secretsmanager

from ..config import TemplateConfig
from . import naming, parameters
from .encryption import key_arn
from .tags import resource_tags


def signing_secret(config: TemplateConfig) -> secretsmanager.Secret:
    """A generated signing secret, created only when no existing secret ARN is given.

    The value is ``{"current": "<48 base64 characters>"}``; senders are given
    ``whsec_`` + that string (Standard Webhooks' format).  Adding a ``previous``
    key lets a sender rotate without downtime.  Alphanumerics only, because
    every such 48-character string is valid base64 (36 random bytes).
    """
    return secretsmanager.Secret(
        naming.SECRET_ID,
        Condition=parameters.CREATE_SIGNING_SECRET,
        **naming.RETAIN,
        Name=naming.per_environment(naming.SIGNING_SECRET),
        Description="Standard Webhooks signing secret for the transaction webhook; "
        'JSON {"current": ..., "previous": ...}',
        KmsKeyId=key_arn(),
        GenerateSecretString=secretsmanager.GenerateSecretString(
            SecretStringTemplate=json.dumps({}),
            GenerateStringKey="current",
            PasswordLength=48,
            ExcludePunctuation=True,
        ),
        Tags=resource_tags(config),
    )


def signing_secret_arn() -> If:
    """The created secret's ARN, or the existing one given as a parameter."""
    return If(parameters.CREATE_SIGNING_SECRET, Ref(naming.SECRET_ID), Ref("SigningSecretArn"))
