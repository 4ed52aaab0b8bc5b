"""Exit codes every command shares; ``--help`` and the README document them.

A leaf module, so command modules can use the codes without importing ``cli``
(which imports them to register their subcommands).
"""

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
#: The deploy guard refused a data-losing change, or the user (or the lack of a
#: terminal to ask on) declined.
EXIT_REFUSED = 3
#: Deployed (or rolled back to a working stack), but the full stack policy,
#: production's termination protection or the outputs file could not be put in
#: place; the command that does it is printed.
EXIT_UNPROTECTED = 4
#: ``status``: the environment is deployed and read, and at least one of its alarms is in ALARM.
EXIT_ALARM = 5
#: Ctrl-C (128 + SIGINT), as shells report it.
EXIT_INTERRUPTED = 130

#: The ``--help`` epilogs of the stack commands.
DEPLOY_EXIT_CODES = (
    "exit codes: 0 deployed or already up to date (or --dry-run shown, or --no-execute-changeset kept), "
    "1 failed, 2 usage error, "
    "3 refused by the data guard or by you (or no terminal to ask on and no --yes), "
    "4 deployed but protection not restored (stack policy, prod termination protection, outputs file or "
    "dashboard; the command to restore it is printed), 130 interrupted"
)
DIFF_EXIT_CODES = (
    "exit codes: 0 shown (or up to date), 1 failed, 2 usage error, 3 the data guard would refuse the change set"
)
OUTPUTS_EXIT_CODES = "exit codes: 0 printed and written, 1 failed (e.g. no such stack), 2 usage error"
DESTROY_EXIT_CODES = (
    "exit codes: 0 deleted (or there was no stack), 1 failed, 2 usage error, "
    "3 refused: termination protection, or by you (or no terminal to ask on and no --yes)"
)
STATUS_EXIT_CODES = (
    "exit codes: 0 read and no alarm in ALARM, 1 failed (e.g. no such stack), 2 usage error, "
    f"{EXIT_ALARM} an alarm is in ALARM (the report names it)"
)
