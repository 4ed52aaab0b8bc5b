"""The procedure's requests and the block's options are one description: every field has its AWS CLI option."""

from __future__ import annotations

import botocore.session
from botocore import xform_name

from webhook_templates.config import EnvironmentConfig
from webhook_templates.handoff.procedure import CLI_OPTIONS, Procedure, Shell, aws_cli_options


def test_every_option_is_the_one_the_aws_cli_names_for_a_field_of_the_operations() -> None:
    model = botocore.session.get_session().get_service_model("cloudformation")
    fields = {*model.operation_model("CreateChangeSet").input_shape.members,
              *model.operation_model("ExecuteChangeSet").input_shape.members}
    assert set(CLI_OPTIONS) <= fields
    assert {field: option for field, option in CLI_OPTIONS.items()
            if option != "--" + xform_name(field, "-")} == {}


def test_every_field_either_request_can_hold_has_an_option() -> None:
    procedure = Procedure.of(EnvironmentConfig(name="prod", tags={"Owner": "team a"}), ["CAPABILITY_IAM"])
    create = procedure.create_change_set(
        stack="s", name="n", kind="UPDATE", template={"TemplateURL": "u"}, parameters=[], role_arn="r",
        notification_arns=["t"], rollback=procedure.rollback_configuration(["a"]))
    options = aws_cli_options({**create, "TemplateBody": "b"})
    assert options.startswith("--stack-name s --change-set-name n --change-set-type UPDATE --template-url u ")
    assert ("--tags Key=CostCenter,Value=fintech-webhooks Key=Environment,Value=prod 'Key=Owner,Value=team a' "
            in options)
    assert "--role-arn r --notification-arns t --rollback-configuration '{\"RollbackTriggers\":[{\"Arn\":\"a\"," \
        in options
    execute = aws_cli_options(procedure.execute_change_set(Shell('"$ID"')))
    assert execute == '--change-set-name "$ID" --retain-except-on-create'
