"""CloudWatch log groups: the function's and the API's access log, both encrypted and expiring."""

from __future__ import annotations

from troposphere import Ref, logs

from . import naming
from .encryption import key_arn


def _log_group(logical_id: str, prefix: str) -> logs.LogGroup:
    return logs.LogGroup(
        logical_id,
        # Kept on stack deletion: logs of financial transactions are audit evidence.
        **naming.RETAIN,
        LogGroupName=naming.per_environment(prefix),
        RetentionInDays=Ref("LogRetentionDays"),
        KmsKeyId=key_arn(),
    )


def function_log_group() -> logs.LogGroup:
    """``/aws/lambda/webhook-processor-<env>``, created before the function so it is ours to configure."""
    return _log_group(naming.FUNCTION_LOG_GROUP_ID, naming.FUNCTION_LOG_GROUP)


def access_log_group() -> logs.LogGroup:
    """The API stage's JSON access log."""
    return _log_group(naming.ACCESS_LOG_GROUP_ID, naming.ACCESS_LOG_GROUP)
