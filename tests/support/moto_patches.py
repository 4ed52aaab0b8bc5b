"""Every patch the tests apply to moto, one per gap between moto and CloudFormation.

The deploy code has no emulator switches: it talks to whatever
``AWS_ENDPOINT_URL`` points at.  Where moto (5.2) answers differently from real
CloudFormation in a way the deploy path depends on, the difference is patched
here, in one place, with the gap it closes.  Behaviour moto cannot reasonably
emulate (replacement flags, rollbacks, rollback failures) is tested on
real-AWS-shaped responses with botocore's ``Stubber`` instead.

Not patched: resource types moto's CloudFormation does not implement (the
signing secret and its resource policy, the API stage, usage plan, models
and gateway responses) are skipped with a warning, and Lambda's ``TracingConfig``
is not kept.  The rollout's resources (alarms, the published version, the
``live`` alias, the CodeDeploy application and deployment group) are patched
in, because ``deploy`` reads them back from the stack, and so is the API Gateway account setting
``account-setup.json`` sets, which a first deploy checks.  Nothing else in the
deploy flow depends on them; the integration checks of them are skipped under moto and run against a real account.

``apply()`` is idempotent and must run in the process that hosts moto's server
(the tests start it in a thread, so it does).
"""

from __future__ import annotations

import contextlib
import json
import math
import re
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

from moto.apigateway.models import apigateway_backends
from moto.awslambda.exceptions import UnknownFunctionException
from moto.awslambda.models import LambdaVersion, lambda_backends
from moto.cloudformation import parsing
from moto.cloudformation.models import Change, ChangeSet, CloudFormationBackend, Stack, cloudformation_backends
from moto.cloudformation.responses import CloudFormationResponse
from moto.cloudwatch.models import Dimension, Metric, MetricDataQuery, MetricStat, Statistics, cloudwatch_backends
from moto.codedeploy.models import AlarmConfiguration, codedeploy_backends
from moto.core.common_models import CloudFormationModel
from moto.core.responses import ActionResult
from moto.kms.models import Key

_applied = False

#: Status a stack ends in when a change set of this type fails and rolls back.
_ROLLED_BACK = {"CREATE": "ROLLBACK_COMPLETE", "UPDATE": "UPDATE_ROLLBACK_COMPLETE"}


def _stack_of(resources_map: Any) -> Stack | None:
    backend = cloudformation_backends[resources_map._account_id][resources_map._region_name]
    return backend.stacks.get(resources_map.stack_id)


def _resource_event(stack: Stack | None, logical_id: str, resource_type: str, status: str,
                    reason: str | None = None, physical_id: str = "") -> None:
    if stack is None:
        return
    stack._add_stack_event(status, resource_status_reason=reason)
    event = stack.events[-1]
    event.logical_resource_id = logical_id
    event.resource_type = resource_type
    event.physical_resource_id = physical_id


def _with_events(verb: str, operation: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap moto's per-resource create/update so each one emits the events CloudFormation would."""

    def wrapped(logical_id: str, resource_json: dict[str, Any], resources_map: Any,
                *args: Any, **kwargs: Any) -> Any:
        stack = _stack_of(resources_map)
        condition = resource_json.get("Condition")
        if verb == "UPDATE" and condition and not resources_map.lazy_condition_map[condition]:
            # Gap: moto "updates" a changed resource whose condition is false, which it never
            # created (its update then fails on None); CloudFormation leaves it absent.
            return None
        reported = getattr(stack, "_reported", None)
        # moto re-"creates" unsupported resources on every lookup (they are
        # never stored): report each resource once, and only while a change set
        # is executing.
        if reported is None or logical_id in reported or (
            condition and not resources_map.lazy_condition_map[condition]
        ):
            return operation(logical_id, resource_json, resources_map, *args, **kwargs)
        reported.add(logical_id)
        resource_type = resource_json["Type"]
        _resource_event(stack, logical_id, resource_type, f"{verb}_IN_PROGRESS")
        try:
            resource = operation(logical_id, resource_json, resources_map, *args, **kwargs)
        except Exception as error:
            _resource_event(stack, logical_id, resource_type, f"{verb}_FAILED", _reason(error))
            raise
        physical_id = getattr(resource, "physical_resource_id", "") or ""
        _resource_event(stack, logical_id, resource_type, f"{verb}_COMPLETE",
                        physical_id=str(physical_id))
        return resource

    return wrapped


def _reason(error: Exception) -> str:
    return str(getattr(error, "message", None) or error)


def _alias_version(props: dict[str, Any]) -> str:
    return str(props["FunctionVersion"])


class _Model:
    """The base of every resource model this module adds to moto or puts in place of moto's own.

    Each subclass closes one gap, named in its docstring.  moto looks resource types up among
    ``CloudFormationModel``'s direct subclasses: a new type's model is one (``_Model`` first, so
    its defaults stand in for the abstract methods), and a replacement subclasses moto's model
    (its methods first).  ``apply()`` has moto look among ``_Model``'s subclasses too, after its
    own, so for a type both model the subclass here is the one used.  A subclass names its type,
    its name property and the attributes ``Fn::GetAtt`` reads, and implements what it models (a
    stack's deletion calls each resource's own ``delete``).
    """

    TYPE: ClassVar[str]
    #: The property that names the resource ("" if it has none).
    NAME_PROPERTY: ClassVar[str] = ""
    ATTRIBUTES: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def cloudformation_type(cls) -> str:  # type: ignore[override]
        return cls.TYPE

    @classmethod
    def cloudformation_name_type(cls) -> str:  # type: ignore[override]
        return cls.NAME_PROPERTY

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in cls.ATTRIBUTES

    @staticmethod
    def models() -> list[type[CloudFormationModel]]:
        """moto's models, then this module's: for a type both model, the later entry wins."""
        return [*CloudFormationModel.__subclasses__(), *_Model.__subclasses__()]


def _metric_data_queries(props: dict[str, Any]) -> list[MetricDataQuery] | None:
    """A metric-math alarm's ``Metrics``, as moto's own PutMetricAlarm reads them."""
    queries = []
    for query in props.get("Metrics") or ():
        stat = query.get("MetricStat")
        metric_stat = None if stat is None else MetricStat(
            Metric(stat["Metric"]["MetricName"], stat["Metric"]["Namespace"],
                   [Dimension(d["Name"], d["Value"]) for d in stat["Metric"].get("Dimensions", [])]),
            stat.get("Period"), stat.get("Stat"), stat.get("Unit"))
        queries.append(MetricDataQuery(query["Id"], query.get("Label"), query.get("Period"),
                                       query.get("ReturnData"), query.get("Expression"), metric_stat))
    return queries or None


class _Alarm(_Model, CloudFormationModel):
    """Gap: moto's CloudFormation has no AWS::CloudWatch::Alarm; deploy reads alarms back
    from the stack as rollback triggers.  Ref is the name, GetAtt Arn the ARN, as on AWS.
    A metric-math alarm (``Metrics``) has no Namespace, MetricName or Period of its own."""

    TYPE = "AWS::CloudWatch::Alarm"
    NAME_PROPERTY = "AlarmName"
    ATTRIBUTES = frozenset({"Arn"})

    def __init__(self, alarm: Any) -> None:
        self.alarm = alarm

    @property
    def physical_resource_id(self) -> str:
        return str(self.alarm.name)

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return str(self.alarm.alarm_arn)

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: dict[str, Any],  # type: ignore[override]
                                        account_id: str, region_name: str, **kwargs: Any) -> _Alarm:
        props = cloudformation_json["Properties"]
        alarm = cloudwatch_backends[account_id][region_name].put_metric_alarm(
            name=props.get("AlarmName") or resource_name, namespace=props.get("Namespace"),
            metric_name=props.get("MetricName"), comparison_operator=props["ComparisonOperator"],
            evaluation_periods=int(props["EvaluationPeriods"]), period=int(props.get("Period", 0)),
            metric_data_queries=_metric_data_queries(props),
            threshold=float(props["Threshold"]), statistic=props.get("Statistic"),
            extended_statistic=props.get("ExtendedStatistic"), description=props.get("AlarmDescription", ""),
            dimensions=props.get("Dimensions", []),
            alarm_actions=props.get("AlarmActions", []), ok_actions=props.get("OKActions", []),
            datapoints_to_alarm=props.get("DatapointsToAlarm"), treat_missing_data=props.get("TreatMissingData"),
        )
        return cls(alarm)

    @classmethod
    def update_from_cloudformation_json(cls, original_resource: _Alarm, new_resource_name: str,  # type: ignore[override]
                                        cloudformation_json: dict[str, Any], account_id: str,
                                        region_name: str) -> _Alarm:
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        cloudwatch_backends[account_id][region_name].delete_alarms([self.alarm.name])


class _Alias(_Model, CloudFormationModel):
    """Gap: moto's CloudFormation has no AWS::Lambda::Alias (Ref: the alias ARN).  And where
    CloudFormation hands an alias with a ``CodeDeployLambdaAliasUpdate`` policy to CodeDeploy,
    which shifts it and records a deployment, moto would switch it at once: the update records
    a finished (``Succeeded``) deployment in the named group, as CodeDeploy would."""

    TYPE = "AWS::Lambda::Alias"

    def __init__(self, alias: Any, function_name: str) -> None:
        self.alias = alias
        self.function_name = function_name

    @property
    def physical_resource_id(self) -> str:
        return str(self.alias.arn)

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: dict[str, Any],  # type: ignore[override]
                                        account_id: str, region_name: str, **kwargs: Any) -> _Alias:
        props = cloudformation_json["Properties"]
        alias = lambda_backends[account_id][region_name].create_alias(
            props["Name"], props["FunctionName"], _alias_version(props), props.get("Description", ""), "")
        return cls(alias, props["FunctionName"])

    @classmethod
    def update_from_cloudformation_json(cls, original_resource: _Alias, new_resource_name: str,  # type: ignore[override]
                                        cloudformation_json: dict[str, Any], account_id: str,
                                        region_name: str) -> _Alias:
        props = cloudformation_json["Properties"]
        version = _alias_version(props)
        shifted = version != original_resource.alias.function_version
        lambda_backends[account_id][region_name].update_alias(
            props["Name"], props["FunctionName"], version, props.get("Description", ""), "")
        policy = cloudformation_json.get("UpdatePolicy", {}).get("CodeDeployLambdaAliasUpdate")
        if shifted and policy:
            codedeploy = codedeploy_backends[account_id][region_name]
            deployment_id = codedeploy.create_deployment(
                policy["ApplicationName"], policy["DeploymentGroupName"],
                {"revisionType": "AppSpecContent", "appSpecContent": {"content": json.dumps({
                    "Resources": [{props["Name"]: {"Type": "AWS::Lambda::Function", "Properties": {
                        "Name": props["FunctionName"], "Alias": props["Name"],
                        "CurrentVersion": original_resource.alias.function_version, "TargetVersion": version}}}]})}},
            )
            codedeploy.deployments[deployment_id].status = "Succeeded"
        return cls(original_resource.alias, props["FunctionName"])

    def delete(self, account_id: str, region_name: str) -> None:
        try:
            lambda_backends[account_id][region_name].delete_alias(self.alias.name, self.function_name)
        except UnknownFunctionException:
            pass  # the function went first, and its aliases with it


class _ApiGatewayAccount(_Model, CloudFormationModel):
    """Gap: moto's CloudFormation has no AWS::ApiGateway::Account (the account and region's
    CloudWatch role setting, which ``account-setup.json`` sets).  As on AWS, deleting it leaves
    the setting as it is."""

    TYPE = "AWS::ApiGateway::Account"

    def __init__(self, name: str) -> None:
        self.name = name

    @property
    def physical_resource_id(self) -> str:
        return self.name

    @staticmethod
    def _set(props: dict[str, Any], account_id: str, region_name: str) -> None:
        apigateway_backends[account_id][region_name].update_account([
            {"op": "replace", "path": "/cloudwatchRoleArn", "value": props["CloudWatchRoleArn"]}])

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: dict[str, Any],  # type: ignore[override]
                                        account_id: str, region_name: str, **kwargs: Any) -> _ApiGatewayAccount:
        cls._set(cloudformation_json["Properties"], account_id, region_name)
        return cls(resource_name)

    @classmethod
    def update_from_cloudformation_json(cls, original_resource: _ApiGatewayAccount,  # type: ignore[override]
                                        new_resource_name: str, cloudformation_json: dict[str, Any],
                                        account_id: str, region_name: str) -> _ApiGatewayAccount:
        cls._set(cloudformation_json["Properties"], account_id, region_name)
        return original_resource

    def delete(self, account_id: str, region_name: str) -> None:
        """Nothing: API Gateway keeps the role setting when the resource goes."""


class _CodeDeployApplication(_Model, CloudFormationModel):
    """Gap: moto's CloudFormation has no AWS::CodeDeploy::Application (Ref: its name)."""

    TYPE = "AWS::CodeDeploy::Application"
    NAME_PROPERTY = "ApplicationName"

    def __init__(self, name: str) -> None:
        self.name = name

    @property
    def physical_resource_id(self) -> str:
        return self.name

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: dict[str, Any],  # type: ignore[override]
                                        account_id: str, region_name: str, **kwargs: Any) -> _CodeDeployApplication:
        props = cloudformation_json["Properties"]
        codedeploy_backends[account_id][region_name].create_application(
            resource_name, props.get("ComputePlatform", "Server"), props.get("Tags", []))
        return cls(resource_name)

    @classmethod
    def update_from_cloudformation_json(cls, original_resource: _CodeDeployApplication,  # type: ignore[override]
                                        new_resource_name: str, cloudformation_json: dict[str, Any],
                                        account_id: str, region_name: str) -> _CodeDeployApplication:
        return original_resource

    def delete(self, account_id: str, region_name: str) -> None:
        codedeploy_backends[account_id][region_name].applications.pop(self.name, None)


class _DeploymentGroup(_Model, CloudFormationModel):
    """Gap: moto's CloudFormation has no AWS::CodeDeploy::DeploymentGroup (Ref: its name)."""

    TYPE = "AWS::CodeDeploy::DeploymentGroup"
    NAME_PROPERTY = "DeploymentGroupName"

    def __init__(self, group: Any) -> None:
        self.group = group

    @property
    def physical_resource_id(self) -> str:
        return str(self.group.deployment_group_name)

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: dict[str, Any],  # type: ignore[override]
                                        account_id: str, region_name: str, **kwargs: Any) -> _DeploymentGroup:
        props = cloudformation_json["Properties"]
        alarms = props.get("AlarmConfiguration", {})
        backend = codedeploy_backends[account_id][region_name]
        backend.create_deployment_group(
            props["ApplicationName"], resource_name, props.get("DeploymentConfigName"), None, None, None,
            props["ServiceRoleArn"], trigger_configurations=props.get("TriggerConfigurations"),
            alarm_configuration=AlarmConfiguration(alarms.get("Alarms"), alarms.get("Enabled")),
            auto_rollback_configuration=props.get("AutoRollbackConfiguration"),
            deployment_style=props.get("DeploymentStyle"), tags=props.get("Tags"),
        )
        return cls(backend.get_deployment_group(props["ApplicationName"], resource_name))

    @classmethod
    def update_from_cloudformation_json(cls, original_resource: _DeploymentGroup,  # type: ignore[override]
                                        new_resource_name: str, cloudformation_json: dict[str, Any],
                                        account_id: str, region_name: str) -> _DeploymentGroup:
        props = cloudformation_json["Properties"]
        group = original_resource.group
        group.deployment_config_name = props.get("DeploymentConfigName")
        group.auto_rollback_configuration = props.get("AutoRollbackConfiguration") or {}
        return original_resource

    def delete(self, account_id: str, region_name: str) -> None:
        codedeploy_backends[account_id][region_name].deployment_groups.get(
            self.group.application.application_name, {}).pop(self.group.deployment_group_name, None)


class _Version(LambdaVersion, _Model):
    """Gaps in moto's AWS::Lambda::Version: no Ref (CloudFormation: the version's ARN) and no
    ``GetAtt Version``; an update (a changed description, which CloudFormation answers with a
    replacement) is not implemented, so it publishes a new version, as the replacement does."""

    arn = ""

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:  # moto's (True for any) precedes _Model's in the MRO
        return attr == "Version"

    @property
    def physical_resource_id(self) -> str:
        return self.arn

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return str(self.version)

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: dict[str, Any],  # type: ignore[override]
                                        account_id: str, region_name: str, **kwargs: Any) -> _Version:
        published = LambdaVersion.create_from_cloudformation_json(
            resource_name, cloudformation_json, account_id, region_name, **kwargs)
        version = cls({"Version": published.version})
        function = lambda_backends[account_id][region_name].get_function(
            cloudformation_json["Properties"]["FunctionName"])
        version.arn = f"{function.function_arn}:{version.version}"
        return version

    @classmethod
    def update_from_cloudformation_json(cls, original_resource: _Version, new_resource_name: str,  # type: ignore[override]
                                        cloudformation_json: dict[str, Any], account_id: str,
                                        region_name: str) -> _Version:
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)


class _Key(Key, _Model):
    """Gaps in moto's AWS::KMS::Key: it passes the template's ``Tags`` (Key/Value) to KMS's
    tagger, which expects TagKey/TagValue and fails with HTTP 500; it stores ``KeyPolicy``
    as the template's object, which DescribeKey then fails to parse (HTTP 500); and it has no
    update, so a stack update that changes the key's policy or description drops the key from
    the stack (every ``GetAtt`` of it then fails), where CloudFormation updates it in place.
    Everything else is moto's key (Key comes first in the MRO: its methods win)."""

    @staticmethod
    def _policy_text(props: dict[str, Any]) -> str:
        policy = props.get("KeyPolicy", {})
        return policy if isinstance(policy, str) else json.dumps(policy)

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: dict[str, Any],  # type: ignore[override]
                                        account_id: str, region_name: str, **kwargs: Any) -> Any:
        props = cloudformation_json.get("Properties", {})
        tags = [{"TagKey": t["Key"], "TagValue": t["Value"]} for t in props.get("Tags", [])]
        props = {**props, "Tags": tags, "KeyPolicy": cls._policy_text(props)}
        return Key.create_from_cloudformation_json(
            resource_name, {**cloudformation_json, "Properties": props}, account_id, region_name, **kwargs)

    @classmethod
    def update_from_cloudformation_json(cls, original_resource: Key, new_resource_name: str,  # type: ignore[override]
                                        cloudformation_json: dict[str, Any], account_id: str,
                                        region_name: str) -> Key:
        props = cloudformation_json.get("Properties", {})
        original_resource.policy = cls._policy_text(props)
        original_resource.description = props.get("Description", "")
        original_resource.key_rotation_status = bool(props.get("EnableKeyRotation", False))
        return original_resource


def _update_aliases_of_replaced_versions(stack: Stack) -> None:
    """Gap: moto updates only resources whose own properties changed; CloudFormation also
    updates those that read an attribute of a replaced resource: the alias whose
    ``GetAtt <Version>.Version`` now names the newly published version."""
    resources = stack.resource_map
    for logical_id, resource_json in stack.template_dict.get("Resources", {}).items():
        alias = resources._parsed_resources.get(logical_id)
        if resource_json["Type"] != "AWS::Lambda::Alias" or not isinstance(alias, _Alias):
            continue
        wanted = parsing.clean_json(resource_json["Properties"]["FunctionVersion"], resources)
        if str(wanted) != alias.alias.function_version:
            resources._parsed_resources[logical_id] = parsing.parse_and_update_resource(
                logical_id, resource_json, resources, stack.account_id, stack.region_name)


def apply() -> None:
    """Patch moto in this process (once)."""
    global _applied
    if _applied:
        return
    _applied = True

    # Gaps in moto's change set: it lists only template edits, where
    # CloudFormation also lists the resources a changed parameter value
    # modifies; and it lists resources whose Condition is false, which
    # CloudFormation leaves out: one it will not create, and one removed from the
    # template that the stack never created (say, ApiGatewayLoggingRole of a stack
    # deployed with CreateApiGatewayAccountRole=false).
    def diff(self: ChangeSet) -> list[Change]:
        stack = self.stack
        actions = stack.resource_map.build_resource_diff(self.template_dict, self.parameters)
        preview = parsing.ResourceMap(
            stack.stack_id, stack.name, self.parameters, stack.tags, account_id=stack.account_id,
            region_name=stack.region_name, template=self.template_dict,
            cross_stack_resources=stack.cross_stack_resources,
        )
        preview.load()
        new = self.template_dict.get("Resources", {})
        old = stack.resource_map._resource_json_map

        def present(name: str) -> bool:
            condition = new[name].get("Condition")
            return not condition or bool(preview.lazy_condition_map[condition])

        def existed(name: str) -> bool:
            condition = old[name].get("Condition")
            return not condition or bool(stack.resource_map.lazy_condition_map[condition])

        return [
            Change(action, name, (new.get(name) or old[name])["Type"])
            for action in ("Add", "Modify", "Remove")
            for name in actions[action]
            if (existed(name) if action == "Remove" else present(name))
        ]

    ChangeSet.diff = diff  # type: ignore[method-assign]

    # Gap: moto's GetMetricData knows Sum, Average, Minimum, Maximum and SampleCount; CloudWatch
    # also answers percentiles (pNN, here by nearest rank over the values put).
    plain = Statistics.get_statistics_for_type

    def statistic(self: Statistics, stat: str) -> Any:
        if re.fullmatch(r"p\d{1,2}(\.\d+)?", stat):
            values = sorted(self.metric_single_values_list)
            return values[max(0, math.ceil(float(stat[1:]) / 100 * len(values)) - 1)] if values else None
        return plain(self, stat)

    Statistics.get_statistics_for_type = statistic  # type: ignore[method-assign]

    # Gap (a moto bug): GetMetricData matches a query's dimensions with a datum's by sorting both,
    # and moto's Dimension orders by comparing one's value with the other's name, so two or more
    # dimensions can sort apart and a series CloudWatch would return is empty.
    Dimension.__lt__ = lambda self, other: (self.name, self.value or "") < (other.name, other.value or "")  # type: ignore[method-assign,assignment,operator]

    # Gap: moto records only the stack's own events; CloudFormation records
    # IN_PROGRESS and COMPLETE (or FAILED, with the reason) for every resource.
    parsing.parse_and_create_resource = _with_events("CREATE", parsing.parse_and_create_resource)
    parsing.parse_and_update_resource = _with_events("UPDATE", parsing.parse_and_update_resource)

    # Gaps in ExecuteChangeSet: (1) a resource that fails to create makes moto
    # answer HTTP 500; CloudFormation accepts the execution, records the failure
    # and rolls the stack back (this patch records the rollback status; it
    # does not undo the resources).  (2) A stack created through a change set
    # never gets its Outputs or Exports; CloudFormation resolves them.
    # (3) moto keeps the stack's change sets; CloudFormation deletes them all
    # once one is executed.
    original_execute = CloudFormationBackend.execute_change_set

    def execute_change_set(self: CloudFormationBackend, change_set_name: str,
                           stack_name: str | None = None) -> None:
        change_set = self.describe_change_set(change_set_name)
        stack = self.stacks[change_set.stack_id]
        stack._reported = set()  # type: ignore[attr-defined]
        before = len(stack.events)
        try:
            original_execute(self, change_set_name, stack_name)
            _update_aliases_of_replaced_versions(stack)
        except Exception as error:
            verb = change_set.change_set_type
            failed = [e.logical_resource_id for e in stack.events[before:] if e.resource_status.endswith("_FAILED")]
            rollback = _ROLLED_BACK[verb].removesuffix("_COMPLETE")
            stack._add_stack_event(
                f"{rollback}_IN_PROGRESS",
                resource_status_reason=f"The following resource(s) failed to {verb.lower()}: "
                f"[{', '.join(failed) or _reason(error)}]. Rollback requested by user.",
            )
            stack._add_stack_event(_ROLLED_BACK[verb])
            stack.status = _ROLLED_BACK[verb]
            change_set.execution_status = "EXECUTE_FAILED"
            return
        finally:
            stack._reported = None  # type: ignore[attr-defined]
            for arn in [arn for arn, other in self.change_sets.items() if other.stack_id == stack.stack_id]:
                del self.change_sets[arn]
        stack._parse_template()
        stack.description = stack.template_dict.get("Description")
        stack.output_map = stack._create_output_map()
        for export in stack.exports:
            self.exports[export.name] = export

    CloudFormationBackend.execute_change_set = execute_change_set  # type: ignore[method-assign]

    # Gap: moto does not implement UpdateTerminationProtection.
    def update_termination_protection(self: CloudFormationResponse) -> Any:
        stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
        stack.enable_termination_protection = self._get_bool_param("EnableTerminationProtection")
        return ActionResult({"StackId": stack.stack_id})

    CloudFormationResponse.update_termination_protection = update_termination_protection  # type: ignore[attr-defined]

    # Gap: an ``Fn::If`` choosing ``AWS::NoValue`` inside a list (the CodeDeploy
    # role's conditional SNS policy) stays in moto as None, which its IAM model
    # cannot read; CloudFormation drops the element.
    original_clean_json = parsing.clean_json

    def clean_json(resource_json: Any, resources_map: Any) -> Any:
        if isinstance(resource_json, list):
            cleaned = (clean_json(value, resources_map) for value in resource_json)
            return [value for value in cleaned if value is not None]
        return original_clean_json(resource_json, resources_map)

    parsing.clean_json = clean_json

    # Gap: moto sees a resource read a parameter only through ``Ref``, so a
    # changed parameter that reaches a resource through ``Fn::Sub`` (the
    # published version's description) modifies nothing; CloudFormation updates it.
    original_references = parsing.get_references_from_template

    def get_references_from_template(template: Any) -> list[str]:
        # moto's version recurses through this module attribute, so nested Subs count too.
        references = original_references(template)
        sub = template.get("Fn::Sub") if isinstance(template, dict) else None
        text = sub if isinstance(sub, str) else sub[0] if isinstance(sub, list) and sub else ""
        return references + re.findall(r"\$\{([A-Za-z0-9]+)\}", text)

    parsing.get_references_from_template = get_references_from_template

    # The resource models above (each gap is on its class).  moto reads its model
    # list through this module attribute and caches the maps built from it.
    parsing.get_model_list = _Model.models
    parsing.get_model_map.cache_clear()
    parsing.get_name_type_map.cache_clear()
    patch_tables_for_deliveries()


# --- The deliveries table's TTL (issue 19): kept apart from the patches above ---------------

_ttl_patched = False


def patch_tables_for_deliveries() -> None:
    """Gaps: moto's ``AWS::DynamoDB::Table`` handler ignores ``TimeToLiveSpecification``, so the
    deliveries table would have no TTL; CloudFormation enables it on the attribute named.  And
    moto exports every output, even one whose ``Condition`` is false (``TransactionStreamArn``
    without a stream), resolving a ``GetAtt`` that does not exist; CloudFormation skips it.  And
    moto cannot update a table (it drops it from the stack); CloudFormation updates in place what
    is not create-only, the stream (``StreamSpecification``) among it."""
    global _ttl_patched
    if _ttl_patched:
        return
    _ttl_patched = True
    from moto.dynamodb.models.table import Table

    original = Table.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create_table(cls: type, name: str, cfn_json: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        table = original(cls, name, cfn_json, *args, **kwargs)
        ttl = cfn_json.get("Properties", {}).get("TimeToLiveSpecification") or {}
        if ttl.get("Enabled") in (True, "true"):
            table.ttl = {"TimeToLiveStatus": "ENABLED", "AttributeName": ttl["AttributeName"]}
        return table

    Table.create_from_cloudformation_json = classmethod(create_table)  # type: ignore[method-assign,assignment]

    def update_table(cls: type, original_resource: Any, new_resource_name: str,
                     cloudformation_json: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        stream = cloudformation_json.get("Properties", {}).get("StreamSpecification")
        enabled = bool(original_resource.stream_specification.get("StreamEnabled"))
        if bool(stream) != enabled:
            original_resource.set_stream_specification(
                {"StreamEnabled": True, **stream} if stream else {"StreamEnabled": False})
        return original_resource

    Table.update_from_cloudformation_json = classmethod(update_table)  # type: ignore[method-assign,assignment]

    original_exports = parsing.OutputMap.exports.fget

    def exports(self: parsing.OutputMap) -> list[Any]:
        outputs = self._output_json_map or {}
        conditions = self._resource_map.lazy_condition_map
        kept = {key: output for key, output in outputs.items()
                if "Condition" not in output or conditions.get(output["Condition"])}
        self._output_json_map, all_outputs = kept, outputs
        try:
            return list(original_exports(self))
        finally:
            self._output_json_map = all_outputs

    parsing.OutputMap.exports = property(exports)  # type: ignore[method-assign,assignment]


@contextlib.contextmanager
def replacement_from_registry_schemas() -> Iterator[None]:
    """While in use, each ``Modify`` in a change set says whether it replaces the resource.

    Gap: moto leaves ``Replacement`` out, so the data guard (failing closed) refuses any
    modified table.  CloudFormation replaces a resource when a changed property is one of its
    registry schema's ``createOnlyProperties``: so does this, with the schemas cfn-lint ships.
    Not applied globally: other tests check what the guard does with moto's bare answer.
    """
    from webhook_templates.handoff.deploy_role import handler_schema

    patched = ChangeSet.diff

    def diff(self: ChangeSet) -> list[Change]:
        changes = patched(self)
        old = self.stack.resource_map._resource_json_map
        new = self.template_dict.get("Resources", {})
        for change in changes:
            if change.action == "Modify":
                before = old[change.logical_resource_id].get("Properties", {})
                after = new[change.logical_resource_id].get("Properties", {})
                changed = {key for key in {*before, *after} if before.get(key) != after.get(key)}
                create_only = {path.split("/")[2] for path in
                               handler_schema(change.resource_type).get("createOnlyProperties", [])}
                change.replacement = "True" if changed & create_only else "False"  # type: ignore[attr-defined]
        return changes

    ChangeSet.diff = diff  # type: ignore[method-assign]
    try:
        yield
    finally:
        ChangeSet.diff = patched  # type: ignore[method-assign]
