"""The customer-managed KMS key that encrypts the table, the logs, the secret and the function's environment."""

from __future__ import annotations

from troposphere import GetAtt, Ref, kms

from . import naming, policies

#: The shortest window AWS allows would make a mistaken deletion unrecoverable
#: within a long weekend; 7 days is the old stack's choice and the issue's.
DELETION_WINDOW_DAYS = 7

#: The services that encrypt with the key on a caller's behalf: the table, the
#: signing secret and the function's environment.  CloudWatch Logs is not here:
#: it uses the key as its own service principal, for this stack's log groups only.
KEY_SERVICES = ("dynamodb", "secretsmanager", "lambda")


def encryption_key() -> kms.Key:
    """The stack's CMK: rotated yearly, retained when the stack is deleted.

    Its policy separates administration (the account's IAM policies decide who)
    from use, which only the services in ``KEY_SERVICES`` (for principals of this
    account) and CloudWatch Logs (for the stack's two log groups) get.
    """
    return kms.Key(
        naming.KEY_ID,
        **naming.RETAIN,
        Description="Webhook key: tables, logs, signing secret, function environment",
        EnableKeyRotation=True,
        PendingWindowInDays=DELETION_WINDOW_DAYS,
        KeyPolicy=policies.document(
            policies.administer_key_by_account(),
            policies.encrypt_log_groups(
                naming.log_group_arn(naming.FUNCTION_LOG_GROUP),
                naming.log_group_arn(naming.ACCESS_LOG_GROUP),
            ),
            policies.use_key_through_services(*KEY_SERVICES),
            policies.grant_key_to_service_resources(*KEY_SERVICES),
        ),
    )


def key_alias() -> kms.Alias:
    """``alias/webhook-lambda-<env>``, the old stack's alias."""
    return kms.Alias(
        naming.KEY_ALIAS_ID,
        AliasName=naming.per_environment(naming.KEY_ALIAS),
        TargetKeyId=Ref(naming.KEY_ID),
    )


def key_arn() -> GetAtt:
    """The key's ARN, for policies and ``KmsKeyArn`` properties."""
    return GetAtt(naming.KEY_ID, "Arn")
