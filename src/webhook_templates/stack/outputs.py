"""Stack outputs: the old stack's four, the signing secret's ARN and, when streamed, the
transaction stream's ARN, each exported."""

from __future__ import annotations

from troposphere import Export, GetAtt, Output, Ref, Sub

from . import naming, parameters
from .api import endpoint_url
from .secrets import signing_secret_arn
from .storage import table_name


def _output(key: str, description: str, value: object, **condition: str) -> Output:
    return Output(
        key,
        Description=description,
        Value=value,
        # Stack-prefixed so several environments can live in one account.
        Export=Export(Sub(f"${{AWS::StackName}}-{key}")),
        **condition,
    )


def outputs() -> list[Output]:
    """``ApiEndpoint``, ``TableName``, ``FunctionName``, ``KmsKeyId``, ``SigningSecretArn`` and
    ``TransactionStreamArn`` (only with ``TransactionStream=true``)."""
    return [
        _output("ApiEndpoint", "URL senders POST to", endpoint_url()),
        _output("TableName", "Transactions table", table_name()),
        _output("FunctionName", "Webhook function", Ref(naming.FUNCTION_ID)),
        _output("KmsKeyId", "The stack's KMS key", Ref(naming.KEY_ID)),
        _output("SigningSecretArn", "Signing secret", signing_secret_arn()),
        _output("TransactionStreamArn", "Stream of new transactions", GetAtt(naming.TABLE_ID, "StreamArn"),
                Condition=parameters.HAS_STREAM),
    ]
