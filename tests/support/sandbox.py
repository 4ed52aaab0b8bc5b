"""``make sandbox``: the patched moto server the deploy tests use, on 127.0.0.1, until Ctrl-C.

    PYTHONPATH=tests .venv/bin/python -m support.sandbox [--port 4566]

It prints what to export so ``make diff/deploy/outputs/destroy`` (or the CLI)
run against it with no AWS account, and what the emulation does not model.
The deploy code has no emulator switch: boto3 honours ``AWS_ENDPOINT_URL``.
Everything lives in memory and is gone when the sandbox stops.
"""

from __future__ import annotations

import argparse
import signal
import socket
import sys
import threading
import warnings
from collections.abc import Sequence
from types import FrameType

DEFAULT_PORT = 4566
#: Dummy credentials: moto accepts any, and these can never reach a real account.
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "sandbox", "AWS_SECRET_ACCESS_KEY": "sandbox", "AWS_REGION": "us-east-1"}

#: What a deploy against the sandbox does not show, from the gaps moto_patches documents.
NOT_MODELLED = (
    "IAM: any credentials work; no policy (yours, a --role-arn, the stack's) is evaluated",
    "resources moto's CloudFormation skips: the signing secret, API stage, usage plan, request "
    "models, gateway responses and alarms (the change set lists them; nothing is created)",
    "Lambda TracingConfig, replacement flags (Replacement is never True or Conditional, so the data "
    "guard only sees removals), rollbacks that undo resources, rollback-failure states",
    "stack tags propagated to resources, and termination protection or deletion protection enforced "
    "by AWS itself (webhook-templates' own checks still run)",
    "traffic: the function is never invoked; try deliveries with `make serve` and `send`",
)


def banner(endpoint: str) -> str:
    """What the sandbox prints once it listens: exports, next steps, limits."""
    exports = " ".join(f"{key}={value}" for key, value in CREDENTIALS.items())
    lines = [
        f"webhook-templates sandbox: AWS emulated by moto on {endpoint} (in memory; Ctrl-C stops it "
        "and forgets everything). NOT an AWS account.",
        "In the terminal you deploy from:",
        f"  export AWS_ENDPOINT_URL={endpoint}",
        f"  export {exports}",
        "  unset AWS_PROFILE AWS_SESSION_TOKEN",
        "then: make diff ENV=staging, make deploy ENV=staging, make outputs ENV=staging, make destroy ENV=staging",
        "Not modelled (deploy to a real account before trusting a change on these):",
        *(f"  - {item}" for item in NOT_MODELLED),
        "Running until Ctrl-C.",
    ]
    return "\n".join(lines)


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"invalid port {text!r}; accepted: 1-65535")
    return value


def _port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def main(argv: Sequence[str] | None = None) -> int:
    """Run the sandbox until Ctrl-C (or SIGTERM); 0 when stopped, 2 for a bad or busy port."""
    parser = argparse.ArgumentParser(prog="make sandbox", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=_port, default=DEFAULT_PORT, help=f"port on 127.0.0.1 (default {DEFAULT_PORT})")
    args = parser.parse_args(argv)
    if not _port_is_free(args.port):
        parser.exit(2, f"make sandbox: error: port {args.port} on 127.0.0.1 is in use; accepted: a free port, "
                    "e.g. make sandbox SANDBOX_PORT=4567\n")
    from . import moto_server  # moto takes seconds to import: not for a refused port

    # moto warns once per resource type its CloudFormation skips; NOT_MODELLED says it once.
    warnings.filterwarnings("ignore", message="Tried to parse .* not supported by moto")
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    with moto_server.running(args.port) as endpoint:
        # As in an account that has deployed API Gateway before: a first deploy checks for it.
        moto_server.with_api_gateway_role(endpoint)
        print(banner(endpoint), flush=True)
        while not stop.wait(0.5):
            pass
    print("sandbox stopped; everything it held is gone.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
