"""Gradual rollout of new function versions: CodeDeploy application, deployment group, role.

When a deploy publishes a new version, CloudFormation asks this deployment
group (the alias's ``CodeDeployLambdaAliasUpdate``) to move the ``live`` alias:
the environment's ``DeploymentPreference`` says how (prod: 10 % for 5 minutes,
then all), and the group stops and rolls the alias back when the deployment
fails or a rollback alarm (``naming.ROLLBACK_ALARMS``) fires meanwhile; the
stack update then fails and rolls back too.
"""

from __future__ import annotations

from troposphere import GetAtt, Ref, codedeploy, iam

from . import naming, policies


def _alarm_arns() -> list[GetAtt]:
    return [GetAtt(alarm_id, "Arn") for alarm_id in naming.ROLLBACK_ALARMS]


def codedeploy_role() -> iam.Role:
    """CodeDeploy's service role: shift this function's alias, read its rollback alarms.

    Unnamed (CloudFormation names it): the template is close to CloudFormation's
    body limit, and nothing refers to this role by name.

    No ``lambda:InvokeFunction``: there are no lifecycle hooks to invoke.  Adding
    a pre-traffic check (see ``function.live_alias``) means granting it on that
    hook function only.  No ``sns:Publish`` and no deployment triggers either
    (template size): a rollback on alarm is already announced by the alarm's
    own notification to ``AlarmTopicArn``.
    """
    return iam.Role(
        naming.CODEDEPLOY_ROLE_ID,
        AssumeRolePolicyDocument=policies.assumable_by("codedeploy.amazonaws.com"),
        PermissionsBoundary=policies.permissions_boundary(),
        Policies=[
            iam.Policy(
                PolicyName="shift-live-alias",
                PolicyDocument=policies.document(
                    policies.shift_alias_traffic(naming.FUNCTION_ID),
                    policies.read_rollback_alarms(*_alarm_arns()),
                ),
            ),
        ],
    )


def application() -> codedeploy.Application:
    """The CodeDeploy application ``webhook-processor-<env>`` (Lambda platform)."""
    return codedeploy.Application(
        naming.CODEDEPLOY_APPLICATION_ID,
        ApplicationName=naming.per_environment(naming.FUNCTION),
        ComputePlatform="Lambda",
    )


def deployment_group() -> codedeploy.DeploymentGroup:
    """The live alias's traffic shifting: the environment's preference, rolled back on alarm or failure."""
    return codedeploy.DeploymentGroup(
        naming.DEPLOYMENT_GROUP_ID,
        ApplicationName=Ref(naming.CODEDEPLOY_APPLICATION_ID),
        DeploymentGroupName=naming.LIVE_ALIAS,
        DeploymentConfigName=Ref("DeploymentPreference"),
        # The only style CodeDeploy supports for Lambda: a new version beside the old.
        DeploymentStyle=codedeploy.DeploymentStyle(
            DeploymentType="BLUE_GREEN", DeploymentOption="WITH_TRAFFIC_CONTROL"
        ),
        ServiceRoleArn=GetAtt(naming.CODEDEPLOY_ROLE_ID, "Arn"),
        AlarmConfiguration=codedeploy.AlarmConfiguration(
            Enabled=True,
            Alarms=[codedeploy.Alarm(Name=Ref(alarm_id)) for alarm_id in naming.ROLLBACK_ALARMS],
        ),
        AutoRollbackConfiguration=codedeploy.AutoRollbackConfiguration(
            Enabled=True, Events=["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]
        ),
    )
