"""Every patch the tests apply to moto, one per gap between moto and CloudFormation.

The deploy code has no emulator switches: it talks to whatever
``AWS_ENDPOINT_URL`` points at.  Where moto (5.2) answers differently from real
CloudFormation in a way the deploy path depends on, the difference is patched
here, in one place, with the gap it closes.  Behaviour moto cannot reasonably
emulate (replacement flags, rollbacks, rollback failures) is tested on
real-AWS-shaped responses with botocore's ``Stubber`` instead.

Not patched: resource types moto's CloudFormation does not implement (the
signing secret and its resource policy, the API stage, usage plan, models,
gateway responses and alarms) are skipped with a warning, and Lambda's ``TracingConfig`` is not
kept.  Nothing in the deploy flow depends on them; the integration checks of
them are skipped under moto and run against a real account.

``apply()`` is idempotent and must run in the process that hosts moto's server
(the tests start it in a thread, so it does).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from moto.cloudformation import parsing
from moto.cloudformation.models import Change, ChangeSet, CloudFormationBackend, Stack, cloudformation_backends
from moto.cloudformation.responses import CloudFormationResponse
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


def apply() -> None:
    """Patch moto in this process (once)."""
    global _applied
    if _applied:
        return
    _applied = True

    # Gaps in moto's AWS::KMS::Key handler: it passes the template's ``Tags``
    # (Key/Value) to KMS's tagger, which expects TagKey/TagValue and fails with
    # HTTP 500; and it stores ``KeyPolicy`` as the template's object, which
    # DescribeKey then fails to parse (HTTP 500).  CloudFormation converts both.
    original_key = Key.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create_key(cls: type, name: str, cfn_json: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        props = cfn_json.get("Properties", {})
        tags = [{"TagKey": t["Key"], "TagValue": t["Value"]} for t in props.get("Tags", [])]
        policy = props.get("KeyPolicy", {})
        policy = policy if isinstance(policy, str) else json.dumps(policy)
        props = {**props, "Tags": tags, "KeyPolicy": policy}
        return original_key(cls, name, {**cfn_json, "Properties": props}, *args, **kwargs)

    Key.create_from_cloudformation_json = classmethod(create_key)  # type: ignore[method-assign,assignment]

    # Gaps in moto's change set: it lists only template edits, where
    # CloudFormation also lists the resources a changed parameter value
    # modifies; and it lists resources whose Condition is false, which
    # CloudFormation leaves out (they will not be created).
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

        return [
            Change(action, name, (new.get(name) or old[name])["Type"])
            for action in ("Add", "Modify", "Remove")
            for name in actions[action]
            if action == "Remove" or present(name)
        ]

    ChangeSet.diff = diff  # type: ignore[method-assign]

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
