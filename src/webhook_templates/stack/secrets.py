"""The webhook signing secret the function verifies deliveries with."""

from __future__ import annotations

import json
from typing import Any

from awacs.aws import PolicyDocument
from troposphere import GetAtt, If, Join, Ref, Split, secretsmanager

from . import naming, parameters, policies
from .encryption import key_arn


def signing_secret() -> secretsmanager.Secret:
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
        Description='Signing secret: {"current": ..., "previous": ...}',
        KmsKeyId=key_arn(),
        GenerateSecretString=secretsmanager.GenerateSecretString(
            SecretStringTemplate=json.dumps({}),
            GenerateStringKey="current",
            PasswordLength=48,
            ExcludePunctuation=True,
        ),
    )


def signing_secret_arn() -> If:
    """The created secret's ARN, or the existing one given as a parameter."""
    return If(parameters.CREATE_SIGNING_SECRET, Ref(naming.SECRET_ID), Ref("SigningSecretArn"))


def readers() -> If:
    """ARNs that may read the secret: the function's role, then ``SigningSecretReaders``.

    CloudFormation cannot concatenate lists, hence the join and split; the
    ``If`` keeps an empty parameter from adding an empty ARN.
    """
    role = GetAtt(naming.ROLE_ID, "Arn")
    return If(
        parameters.HAS_SECRET_READERS,
        Split(",", Join(",", [role, Join(",", Ref("SigningSecretReaders"))])),
        [role],
    )


def reader_policy(reader_arns: Any) -> PolicyDocument:
    """A secret's resource policy: nobody but ``reader_arns`` reads its value (HANDOFF gives it to
    the owner of an existing secret)."""
    return policies.document(policies.only_named_principals_read_secret(reader_arns))


def stack_secret_policy(reader_arns: Any) -> PolicyDocument:
    """The created secret's policy: ``reader_policy``, and the deploy role reading it only as
    CloudFormation's resource handlers do (drift detection, updates)."""
    return policies.document(
        policies.only_named_principals_read_secret(reader_arns, policies.DEPLOY_ROLE_ARN),
        policies.deploy_role_reads_secret_only_through_cloudformation(policies.DEPLOY_ROLE_ARN),
    )


def signing_secret_policy() -> secretsmanager.ResourcePolicy:
    """Only the function and the principals the operator names read the created secret.

    Identity policies cannot widen it: the deny wins over an administrator's
    ``secretsmanager:*``.  Retained with the secret, so a deleted stack does not
    leave the secret readable by everyone again.  An existing secret passed by
    ``SigningSecretArn`` is its owner's to protect (HANDOFF.md says how).
    """
    return secretsmanager.ResourcePolicy(
        naming.SECRET_POLICY_ID,
        Condition=parameters.CREATE_SIGNING_SECRET,
        **naming.RETAIN,
        SecretId=Ref(naming.SECRET_ID),
        ResourcePolicy=stack_secret_policy(readers()),
        BlockPublicPolicy=True,
    )
