"""Stack outputs: the old stack's four, plus the signing secret's ARN, each exported."""

from __future__ import annotations

from troposphere import Export, Output, Ref, Sub

from . import naming
from .api import endpoint_url
from .secrets import signing_secret_arn
from .storage import table_name


def _output(key: str, description: str, value: object) -> Output:
    return Output(
        key,
        Description=description,
        Value=value,
        # Stack-prefixed so several environments can live in one account.
        Export=Export(Sub(f"${{AWS::StackName}}-{key}")),
    )


def outputs() -> list[Output]:
    """``ApiEndpoint``, ``TableName``, ``FunctionName``, ``KmsKeyId`` and ``SigningSecretArn``."""
    return [
        _output("ApiEndpoint", "URL that webhook senders POST to", endpoint_url()),
        _output("TableName", "DynamoDB table holding the transactions", table_name()),
        _output("FunctionName", "Lambda function processing the webhooks", Ref(naming.FUNCTION_ID)),
        _output("KmsKeyId", "KMS key encrypting the table, logs and secret", Ref(naming.KEY_ID)),
        _output("SigningSecretArn", "Secrets Manager secret holding the signing secret", signing_secret_arn()),
    ]
