"""What the stack commands say to their user, in one place: named constants and small functions.

Only wording lives here; no code decides anything by comparing these texts
(decisions go by AWS error codes, CloudFormation status values or the enums of
``states``).  Styling (colour) is applied by the caller, so the words can be
read, and reviewed, without the escape codes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from .states import Protection, StackStatus

# -- deploy inputs: the template and the parameter file (usage errors, exit 2) --------------------------------------


def template_not_a_file(path: Path) -> str:
    """``--template`` names nothing."""
    return (f"--template {str(path)!r} is not a file; accepted: a rendered template such as "
            "build/template.json (run `make template`) or the handoff bundle's template")


def template_not_utf8(path: Path, reason: str, start: int) -> str:
    """``--template`` is not text."""
    return (f"--template {str(path)!r} is not UTF-8 text ({reason} at byte {start}); "
            "accepted: a rendered template (JSON or YAML, UTF-8)")


#: What a parameter file may hold.
PARAMETERS_ACCEPTED = ('accepted: a JSON file of [{"ParameterKey": ..., "ParameterValue": ...}] '
                       'or {"Key": "value"}, values strings or numbers (the format of the bundle\'s '
                       'parameters/<env>.json)')


def parameters_not_a_file(path: Path) -> str:
    """``--parameters`` names nothing."""
    return f"--parameters {str(path)!r} is not a file; {PARAMETERS_ACCEPTED}"


def parameters_not_utf8(path: Path, reason: str, start: int) -> str:
    """The parameter file is not text."""
    return f"--parameters {str(path)!r} is not UTF-8 text ({reason} at byte {start}); {PARAMETERS_ACCEPTED}"


def parameters_not_json(path: Path, error: json.JSONDecodeError) -> str:
    """The parameter file is not JSON."""
    return f"--parameters {str(path)!r} is not valid JSON ({error}); {PARAMETERS_ACCEPTED}"


def parameters_shape(path: Path) -> str:
    """The parameter file is JSON of another shape."""
    return f"--parameters {str(path)!r} has an unexpected shape; {PARAMETERS_ACCEPTED}"


def parameters_unknown_keys(path: Path, key: str, extra: Iterable[str]) -> str:
    """An entry with more than ``ParameterKey`` and ``ParameterValue``."""
    return f"--parameters {str(path)!r}: {key} has unknown key(s) {', '.join(extra)}; {PARAMETERS_ACCEPTED}"


def parameter_value_type(path: Path, key: str, value: str) -> str:
    """A value that is not a string or a number (``value`` as JSON)."""
    return f"--parameters {str(path)!r}: {key} is {value}, not a string or a number; {PARAMETERS_ACCEPTED}"


def parameters_undeclared(path: Path, unknown: Iterable[str], template: Path, declared: Iterable[str]) -> str:
    """Parameters the template does not declare."""
    return (f"--parameters {str(path)!r}: {', '.join(unknown)} not declared by {template}; "
            f"accepted: {', '.join(sorted(declared))}")


def parameters_other_environment(path: Path, given: str, environment: str) -> str:
    """Another environment's parameter file."""
    return (f"--parameters {str(path)!r} is for Environment {given!r}, not "
            f"--env {environment}; accepted: that environment's file (parameters/{environment}.json)")


ENVIRONMENT_NOT_OVERRIDABLE = "it is --env's name; deploy another environment with --env"


def override_refused(key: str, value: str, why: str) -> str:
    """An override that would make the stack disagree with its name."""
    return f"--parameter-overrides {key}={value} is refused: {why}"


def override_unknown(key: str, template: Path, accepted: Iterable[str]) -> str:
    """An override of a parameter the template does not have."""
    return f"--parameter-overrides {key!r} is not a parameter of {template}; accepted: " + ", ".join(accepted)


def override_invalid(key: str, value: str, accepted: str) -> str:
    """An override the template's constraints refuse."""
    return f"--parameter-overrides {key}={value!r} is invalid; accepted: {accepted}"


A_NUMBER = "a number"
A_WHOLE_NUMBER = "a whole number (digits only)"


def number_range(low: object, high: object) -> str:
    """A Number parameter's range (either end may be open)."""
    return f"a number from {low if low is not None else '-inf'} to {high if high is not None else 'inf'}"


def length_range(low: object, high: object) -> str:
    """A String parameter's length range."""
    return f"{low or 0} to {high if high is not None else 'any number of'} characters"


def matching(pattern: str) -> str:
    """A pattern without a ConstraintDescription."""
    return f"a value matching {pattern}"


# -- the commands' flags (usage errors, exit 2) ------------------------------------------------------------------


def given_twice(flag: str, key: str, first: str, second: str) -> str:
    """A ``KEY=VALUE`` flag naming one key with two values."""
    return f"{flag} {key} is given twice ({first!r} and {second!r}); accepted: each key once"


def too_many_topics(count: int, limit: int) -> str:
    """More ``--notification-arns`` than CloudFormation takes."""
    return f"--notification-arns: {count} topics; accepted: at most {limit} (CloudFormation's limit)"


def too_many_tags(count: int, limit: int) -> str:
    """More stack tags than CloudFormation takes."""
    return f"{count} stack tags; accepted: at most {limit} (CloudFormation's limit)"


ALLOW_WITHOUT_EXECUTE = (
    "--allow-replacement with --no-execute-changeset is refused; accepted: one of them. The stack "
    "policy is lifted for the allowed resources only while webhook-templates executes the change set"
)


def re_rendered(build_dir: Path, stale: Iterable[str]) -> str:
    """``build/`` was stale and was rendered again."""
    return f"{build_dir}/ was out of date ({', '.join(stale)}): re-rendered it."


def parameters_from_environments(environment: str, environments: Path, based_on: str | None, beside: Path) -> str:
    """No parameter file: the values come from the environments file (``based_on``: an ephemeral one)."""
    based = "" if based_on is None else f" (based on {based_on})"
    return f"Parameters of {environment}: from {environments}{based}; there is no {beside}."


def role_not_in_key_policy(role_arn: str, named: str) -> str:
    """``--role-arn`` names a role the parameters do not name as ``DeployRole``."""
    role = role_arn.split(":", 5)[-1].removeprefix("role/")
    fix = (f'set deploy_role = "{role}" for this environment' if "/" not in role
           else "the key policy names roles without a path: use one")
    return (f"Note: CloudFormation deploys as {role}, but the key policy names "
            f"{named or 'no deploy role'} (DeployRole): a role with only the bundle's deploy role policy then "
            f"cannot create or administer the key; {fix}.")


def no_stack_for_outputs(stack_name: str, region: str, environment: str) -> str:
    """``outputs`` of a stack that is not there."""
    return f"{stack_name} does not exist in {region}: deploy it first (make deploy ENV={environment})."


# -- what an account needs before a first deploy -------------------------------------------------------------------


def no_api_gateway_role(account_setup_command: str, set_role_command: str) -> str:
    """API Gateway has no CloudWatch role: the command that deploys the bundle's account setup,
    or the one that points API Gateway at an existing role (never a file to edit)."""
    return (
        "API Gateway has no CloudWatch role in this account and region, so creating the stage (access "
        "logging) would fail. Deploy the account setup once in this account and region (an administrator: "
        f"it creates an IAM role): {account_setup_command}; or point API Gateway at an existing role: "
        f"{set_role_command}"
    )


# -- the outputs file ----------------------------------------------------------------------------------------------

UNREADABLE = "it cannot be read"
NOT_JSON = "it is not valid JSON"
NOT_AN_OBJECT = "it is not a JSON object"
NO_OUTPUTS = "(the stack has no outputs)"
OUTPUTS = "Outputs:"


def outputs_file_ignored(path: Path, why: str) -> str:
    """An outputs file that cannot be used (it is only a shortcut)."""
    return f"warning: {path} ignored: {why}"


def wrote(path: Path) -> str:
    """The outputs file was written."""
    return f"Wrote {path}"


# -- releases: rollback triggers and CodeDeploy ----------------------------------------------------------------------

NO_ROLLBACK_TRIGGERS = "Rollback triggers: none yet (the stack has no alarms before its first deploy)."


def rollback_triggers(alarms: Iterable[str], minutes: int) -> str:
    """What will roll the update back."""
    return (f"Rollback triggers: {', '.join(alarms)}; CloudFormation rolls the update back if one fires while it runs "
            f"or in the {minutes} minute(s) after.")


def codedeploy_unreadable(error: object) -> str:
    """CodeDeploy cannot be read; the deploy goes on without the traffic shift's progress."""
    return f"traffic shifting: cannot read CodeDeploy ({error}); follow it in the CodeDeploy console"


# -- deploy: planning ---------------------------------------------------------------------------------------------


def stack_busy(stack_name: str, status: str) -> str:
    """A stack some other operation is moving."""
    return (f"{stack_name} is {status}: another operation is running on it. Wait for it to finish "
            f"(`aws cloudformation describe-stack-events --stack-name {stack_name}`), then deploy again.")


def nothing_created(problem: str) -> str:
    """What the account lacks for a first deploy, said before anything is made."""
    return f"{problem}. Nothing was created."


def recreate_dry_run(stack_name: str) -> str:
    """``diff`` of a stack a failed first deploy left."""
    return (f"{stack_name} is ROLLBACK_COMPLETE (a failed first deploy, holding no resources): "
            "a deploy deletes it and creates every resource of the template again.")


def recreating(stack_name: str) -> str:
    """A failed first deploy's stack is about to be deleted."""
    return (f"{stack_name} is ROLLBACK_COMPLETE: its first deploy failed and it holds no "
            "resources. Deleting it so it can be created again.")


def recreate_failed(stack_name: str, status: str) -> str:
    """The failed first deploy's stack would not go."""
    return f"could not delete the failed stack {stack_name}: it is {status}"


def creating_change_set(kind: str, stack_name: str, template: object, environment: str) -> str:
    """The first line of a deploy."""
    return (f"Creating a change set ({kind}) for {stack_name} from {template} "
            f"with the {environment} parameters...")


def uploaded(template: object, size: int, limit: int, url: str) -> str:
    """A template too big for ``TemplateBody`` went through S3."""
    return f"{template} is {size:,} bytes, over the {limit:,}-byte TemplateBody limit: uploaded to {url}"


def no_upload(template: object, size: int, limit: int) -> str:
    """A template too big for ``TemplateBody``, and no S3 upload to send it through."""
    return f"{template} is {size:,} bytes, over the {limit:,}-byte TemplateBody limit, and no S3 upload is set up"


def change_set_rejected(reason: str) -> str:
    """CloudFormation could not compute the change set."""
    return f"CloudFormation rejected the change set: {reason}"


def change_set_gone(arn: str) -> str:
    """The change set vanished between being computed and being shown."""
    return f"the change set {arn} was deleted by someone else before it was shown"


def up_to_date(stack_name: str) -> str:
    """Nothing would change."""
    return f"{stack_name} is up to date: the change set contained no changes."


# -- deploy: review -----------------------------------------------------------------------------------------------


def guard_refused(flags: str) -> str:
    """After the guard's refusal: nothing ran, and how to go ahead on purpose."""
    return ("Nothing was executed and the change set was deleted. If losing them is intended "
            f"(back the data up first), deploy again with: {flags}")


DRY_RUN = "Dry run: nothing executed; the change set is deleted."


def execute_question(stack_name: str) -> str:
    """The confirmation question (``[y/N]`` is the console's)."""
    return f"Execute this change set on {stack_name}?"


NO_TERMINAL = ("Refusing to execute: no terminal to ask on and no --yes. Review the changes "
               "above (make diff), then deploy again with --yes.")
DECLINED = "Not executed; the change set was deleted."
INTERRUPTED_AT_PROMPT = "\nInterrupted: nothing executed; the change set is deleted."


def kept_for_review(name: str, stack_name: str, environment: str, region: str | None) -> list[str]:
    """``--no-execute-changeset``: where the change set is and how to execute or discard it."""
    where = f" --region {region}" if region else ""
    return [
        f"Kept change set {name} on {stack_name} for review; nothing was executed.",
        "To execute it:",
        f"  aws cloudformation execute-change-set --stack-name {stack_name} --change-set-name {name}{where}",
        f"Then run `webhook-templates deploy --env {environment} --yes` once: it finds "
        "nothing to change and sets the stack policy, termination protection and outputs file.",
        f"To discard it: aws cloudformation delete-change-set --stack-name {stack_name} "
        f"--change-set-name {name}{where}",
    ]


# -- deploy: clean-up of what will not run ------------------------------------------------------------------------


def kept_busy_stack(name: str, status: str) -> str:
    """A first deploy's stack another deploy has started using."""
    return f"Kept {name}: it is {status}, so another deploy is using it."


def kept_waited_on_stack(name: str, change_set: object) -> str:
    """A first deploy's empty stack another change set waits on."""
    return f"Kept the empty stack {name}: another change set ({change_set}) is waiting on it."


def change_set_not_deleted(why: str, arn: str) -> str:
    """A change set that will not run, but could not be deleted either."""
    return (f"Could not delete the change set ({why}). It was not executed; delete it with:\n"
            f"  aws cloudformation delete-change-set --change-set-name {arn}")


INTERRUPTED = "interrupted"

# -- deploy: execution --------------------------------------------------------------------------------------------


def executing(stack_name: str) -> str:
    """Events follow this line."""
    return f"Executing on {stack_name}:"


def executed_despite_error(error: str) -> str:
    """``ExecuteChangeSet`` failed, yet the change set runs."""
    return (f"ExecuteChangeSet answered with an error ({error}), but "
            "CloudFormation is executing the change set: following it.")


def execution_unknown(error: str) -> str:
    """``ExecuteChangeSet`` failed and nothing tells whether it ran."""
    return f"ExecuteChangeSet failed ({error}) and CloudFormation does not say whether the change set runs"


def not_executed(reason: str) -> str:
    """CloudFormation did not run the change set (and never will)."""
    return f"CloudFormation did not execute the change set: {reason}"


STOPPED_FOLLOWING = "you stopped following it"
INTERRUPTED_HEADLINE = "Interrupted"
LOST_TRACK_HEADLINE = "Lost track of the deploy"


def detached(what: str, why: str, stack_name: str) -> str:
    """The first line when the command stops following an operation that may still run."""
    return f"{what} on {stack_name}: {why}."


def detached_advice(stack_name: str, region: str | None, again: str) -> str:
    """How to check on, and finish, an operation the command no longer follows."""
    where = f" --region {region}" if region else ""
    return (
        "This is not a deploy failure: CloudFormation may be running the change set, or have finished it. "
        "Check where it is with:\n"
        f"  aws cloudformation describe-stacks --stack-name {stack_name}{where} "
        "--query 'Stacks[0].StackStatus'\n"
        f"  aws cloudformation describe-stack-events --stack-name {stack_name}{where} --max-items 20\n"
        f"Once it is *_COMPLETE, run `{again}`: it puts back whatever protection this run did not get "
        "to (stack policy, termination protection for prod, the outputs file)."
    )


def lost_track(stack_name: str, why: object) -> str:
    """Lost track before anything was executed."""
    return (f"Lost track of the deploy of {stack_name}: {why}. Check it with "
            f"`aws cloudformation describe-stacks --stack-name {stack_name}`.")


def deployed(stack_name: str, status: str, took: str) -> str:
    """The deploy ended well."""
    return f"Deployed {stack_name}: {status} in {took}."


def deploy_failed(why: object) -> str:
    """The deploy stopped on a ``DeployError``."""
    return f"Deploy failed: {why}"


def failed_status(stack_name: str, status: str) -> str:
    """The executed deploy ended badly."""
    return f"Deploy failed: {stack_name} is {status}."


def root_cause(logical_id: str, resource_type: str, status: str, reason: str) -> str:
    """The first failure among the events."""
    return f"Root cause: {logical_id} ({resource_type}) {status}: {reason}"


def already_exists(logical_id: str, resource_type: str) -> str:
    """A resource could not be created because one of the same name exists."""
    return (f"{logical_id} ({resource_type}) could not be created because a "
            "resource with its name already exists in the account (the reason above names it). For the table, "
            "the key, the secret and the log groups that is usually one retained by an earlier stack of this "
            "environment that was deleted. The next deploy fails the same way until you either delete that "
            "resource (back its data up first) or import it into the stack "
            "(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/resource-import.html).")


#: Where a failed deploy left the stack, when no other advice applies.
ROLLED_BACK: dict[str, str] = {
    StackStatus.ROLLBACK_COMPLETE: "The first deploy was rolled back; the next deploy deletes the empty stack "
                                   "and creates it again.",
    StackStatus.UPDATE_ROLLBACK_COMPLETE: "The update was rolled back; the stack runs the previous version.",
}


def again(environment: str, stack_name: str, default_stack_name: str) -> str:
    """The command that runs a deploy again (it converges whatever protection is missing)."""
    flags = "" if stack_name == default_stack_name else f" --stack-name {stack_name}"
    return f"webhook-templates deploy --env {environment}{flags}"


# -- stacks a deploy cannot start from ----------------------------------------------------------------------------


def recovery_advice(status: str, stack_name: str) -> str | None:
    """What to do about a stack left in a state deploys cannot proceed from."""
    if status == StackStatus.UPDATE_ROLLBACK_FAILED:
        return (
            f"{stack_name} is UPDATE_ROLLBACK_FAILED: CloudFormation could not roll the update back, "
            "and no deploy can run until the rollback finishes. Fix what the root cause names "
            "(often a resource changed or deleted outside CloudFormation), then run:\n"
            f"  aws cloudformation continue-update-rollback --stack-name {stack_name}\n"
            "If a resource still cannot be rolled back, skip it (CloudFormation then marks it "
            "rolled back without touching it):\n"
            f"  aws cloudformation continue-update-rollback --stack-name {stack_name} "
            "--resources-to-skip LOGICAL_ID"
        )
    if status == StackStatus.ROLLBACK_FAILED:
        return (
            f"{stack_name} is ROLLBACK_FAILED: its first deploy failed and could not be cleaned up. "
            f"Delete it (`webhook-templates destroy`, or the console), then deploy again."
        )
    if status == StackStatus.DELETE_FAILED:
        return (
            f"{stack_name} is DELETE_FAILED: run destroy again once the root cause is fixed; "
            "resources it cannot delete can be kept with "
            f"`aws cloudformation delete-stack --stack-name {stack_name} --retain-resources LOGICAL_ID`."
        )
    return None


# -- waiting ------------------------------------------------------------------------------------------------------


def still_running(what: str, minutes: int) -> str:
    """A wait gave up (CloudFormation keeps going)."""
    return f"{what} was still not finished after {minutes} minutes"


def stack_still_moving(status: str, minutes: int) -> str:
    """Following an operation gave up."""
    return f"the stack was still {status} after {minutes} minutes"


def change_set_disappeared(arn: str) -> str:
    """The change set went while CloudFormation computed it."""
    return f"the change set {arn} disappeared while CloudFormation computed it"


def the_change_set(arn: str) -> str:
    """What a change set wait is about."""
    return f"the change set {arn}"


def the_operation(stack_id: str) -> str:
    """What a stack wait is about."""
    return f"the operation on {stack_id}"


# -- protection ---------------------------------------------------------------------------------------------------


def protection_name(protection: Protection, outputs_file: object) -> str:
    """How a protection is named in a report (the outputs file with its path)."""
    if protection is Protection.STACK_POLICY:
        return "the full stack policy"
    if protection is Protection.TERMINATION_PROTECTION:
        return "termination protection"
    if protection is Protection.DASHBOARD:
        return f"the dashboard {outputs_file}"
    return f"the outputs file {outputs_file}"


def dashboard_put(name: str, region: str) -> str:
    """The dashboard is in place."""
    return (f"Dashboard {name}: https://{region}.console.aws.amazon.com/cloudwatch/home"
            f"?region={region}#dashboards/dashboard/{name}")


def dashboard_warning(where: str, message: str) -> str:
    """CloudWatch kept the dashboard but warned about part of it."""
    return f"Dashboard warning at {where or 'the body'}: {message}"


POLICY_PUT_BACK = "The stack policy was missing or not the full one: put it back."
TERMINATION_TURNED_ON = "Termination protection was off: turned it on."
TERMINATION_ON = "termination protection on"
TERMINATION_NOT_ON = "termination protection NOT on"
TERMINATION_NOT_PROD = "no termination protection (not prod)"


def policy_in_place(termination: str) -> str:
    """What converge put in place."""
    return f"Stack policy denies replacing or deleting data resources; {termination}."


def outputs_rewritten(outputs_file: object) -> str:
    """The outputs file had to be written again."""
    return f"{outputs_file} was missing or out of date: rewrote it."


def not_restored(stack_name: str, what: str, why: str) -> str:
    """The loud line for a protection that is missing."""
    return f"PROTECTION NOT RESTORED on {stack_name}: {what} could not be put in place ({why})."


UNPROTECTED_DATA = ("Until it is, any tool can replace or delete the table, the key, the secret and the "
                    "log groups.")


def restore_with(command: str) -> str:
    """The command that puts a protection in place."""
    return f"Restore it with:\n  {command}"


OR_DEPLOY_AGAIN = "(or run the same `webhook-templates deploy` again: it re-applies whatever is missing)"

# -- destroy ------------------------------------------------------------------------------------------------------


def nothing_to_delete(stack_name: str) -> str:
    """``destroy`` of a stack that is not there."""
    return f"{stack_name} does not exist: nothing to delete."


def termination_protected(stack_name: str) -> str:
    """``destroy`` refuses a protected stack."""
    return (
        f"Refusing: {stack_name} has termination protection (production). If deleting it is really "
        "intended, switch it off deliberately first:\n"
        f"  aws cloudformation update-termination-protection --no-enable-termination-protection "
        f"--stack-name {stack_name}"
    )


def destroy_busy(stack_name: str, status: str) -> str:
    """``destroy`` while another operation runs."""
    return f"{stack_name} is {status}: wait for the running operation to finish, then destroy again."


def deleting(stack_name: str, status: str, *, keeps: bool) -> str:
    """What deleting the stack will do."""
    if keeps:
        return (f"Deleting {stack_name} ({status}) deletes every resource except these, which are retained "
                "with their data:")
    return f"Deleting {stack_name} ({status}) deletes all its resources."


def delete_question(stack_name: str) -> str:
    """The confirmation question of ``destroy``."""
    return f"Delete stack {stack_name}?"


NOT_DELETED = "Not deleted."
DELETE_NO_TERMINAL = "Refusing to delete: no terminal to ask on and no --yes."


def delete_failed(stack_name: str, status: str) -> str:
    """The deletion ended badly."""
    return f"Delete failed: {stack_name} is {status}. Fix what the events above name and run destroy again."


def deleted(stack_name: str) -> str:
    """The deletion ended well."""
    return f"Deleted {stack_name}."


RETAINED = ("Retained (still in the account, with their data; delete them by hand only if you mean to, "
            "and note a new deploy cannot reuse their names until you do):")
