"""Handler benchmark: cold start and warm per-event cost, AWS answered by canned responses.

Run as ``python benchmarks/bench_handler.py`` (``make bench``). Prints one line per figure and
asserts nothing about speed (it does check every answer is the expected one, so a broken
handler cannot post a fast figure).

AWS is a small HTTP server on 127.0.0.1 in this process (``AWS_ENDPOINT_URL`` points the
handler's botocore clients at it): ``GetSecretValue`` returns the secret, ``TransactWriteItems``
and ``GetItem`` keep delivery markers in a dict, as DynamoDB's conditions would. No moto in the
measured process: its imports (boto3 among them) would hide the handler's own import cost.

Cold figures come from fresh interpreters, one phase each:

- ``import``: executing ``handler/app.py``, as Lambda's init does;
- ``clients``: the first invocation (a ``GET``, answered 405 after the container is set up:
  environment read, botocore clients built);
- ``first_request``: the first signed ``POST`` (the secret fetch and the write);
- ``total``: the three together, what the first sender waits for beyond Lambda's own start.

The same script runs on the handler as of ``BASELINE_COMMIT`` (from ``git show``) for the
before/after columns, when git and that commit are at hand. Warm figures time
``lambda_handler`` alone (events built and signed beforehand); ``*_own`` lines replace the
DynamoDB client's methods with instant answers, leaving the handler's own work (HMAC,
parsing, validation, logging). ``handler.log.delivery_line_bytes`` is an accepted delivery's log
line as Lambda's JSON log format writes it (``metrics.lambda_json_line``) and the bytes its EMF
members take.
"""
from __future__ import annotations

import base64
import gc
import hashlib
import hmac
import importlib.util
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
APP_PATH = ROOT / "handler" / "app.py"
#: The handler before issue 13's rewrite (boto3, dict state): the "before" column.
BASELINE_COMMIT = "add44cc"
TABLE = "bench-transactions"
SECRET = "Zk3uQx9Lm2Rt7Vb1Nc8Hd5Jf0Gs4Ka6Pw3Ey9Tz2Xq7Ub1Ri"
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:000000000000:secret:bench-AbCdEf"
EVENTS = 500
COLD_RUNS = 7

ENV = {
    "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "TABLE_NAME": TABLE, "SIGNING_SECRET_ARN": SECRET_ARN,
    "DELIVERIES_TABLE_NAME": "webhook-deliveries-bench", "DELIVERY_RETENTION_DAYS": "35",
    "ENVIRONMENT": "staging",
}
#: The members the EMF adds to the handler's line (``outcome`` and ``latencyMs`` it carried before).
EMF_MEMBERS = ("_aws", "environment", "reason", "deliveries")


def _marker_key(item: dict[str, Any]) -> str:
    """The webhook-id a marker is stored under: ``deliveryId`` now, ``delivery#<id>`` in the
    "before" column's handler, which kept markers in the transactions table."""
    return item["deliveryId"]["S"] if "deliveryId" in item else item["transactionId"]["S"].removeprefix("delivery#")


class CannedAws(BaseHTTPRequestHandler):
    """Secrets Manager and DynamoDB's JSON protocol, just the four calls the handler makes (the
    deliveries table is a retention old: no earlier markers are checked, the steady state)."""

    markers: dict[str, dict[str, Any]] = {}
    lock = threading.Lock()

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
        target = self.headers.get("X-Amz-Target", "").rpartition(".")[2]
        status, answer = getattr(self, "_" + target)(request)
        body = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _GetSecretValue(self, request: dict[str, Any]) -> tuple[int, dict[str, Any]]:  # noqa: N802
        return 200, {"ARN": SECRET_ARN, "Name": "bench", "VersionId": "v1",
                     "SecretString": json.dumps({"current": SECRET}), "CreatedDate": 1700000000}

    def _TransactWriteItems(self, request: dict[str, Any]) -> tuple[int, dict[str, Any]]:  # noqa: N802
        marker = request["TransactItems"][0]["Put"]["Item"]
        key = _marker_key(marker)
        with self.lock:
            if key in self.markers:
                return 400, {"__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
                             "Message": "Transaction cancelled",
                             "CancellationReasons": [{"Code": "ConditionalCheckFailed"}, {"Code": "None"}]}
            self.markers[key] = marker
        return 200, {}

    def _GetItem(self, request: dict[str, Any]) -> tuple[int, dict[str, Any]]:  # noqa: N802
        with self.lock:
            item = self.markers.get(_marker_key(request["Key"]))
        return 200, {"Item": item} if item else {}

    def _DescribeTable(self, request: dict[str, Any]) -> tuple[int, dict[str, Any]]:  # noqa: N802
        return 200, {"Table": {"TableName": request["TableName"], "CreationDateTime": 1500000000}}

    def log_message(self, *args: Any) -> None:
        """Quiet: one line per request would swamp the figures."""


def start_canned_aws() -> str:
    """Serve CannedAws on a free loopback port in a daemon thread; its URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), CannedAws)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}"


def valid_body() -> str:
    return json.dumps({"transactionId": "txn_" + uuid.uuid4().hex[:16], "amount": 1234.56, "currency": "USD",
                       "status": "completed", "metadata": {"orderId": "ord_8812", "customer": "cus_41", "items": 3}})


def signed_event(body: str, msg_id: str | None = None) -> dict[str, Any]:
    msg_id = msg_id or "msg_" + uuid.uuid4().hex
    ts = str(int(time.time()))
    mac = hmac.new(base64.b64decode(SECRET), f"{msg_id}.{ts}.{body}".encode(), hashlib.sha256).digest()
    headers = {"Content-Type": "application/json", "User-Agent": "bench", "webhook-id": msg_id,
               "webhook-timestamp": ts, "webhook-signature": "v1," + base64.b64encode(mac).decode()}
    return {"resource": "/webhook", "path": "/webhook", "httpMethod": "POST", "headers": headers,
            "multiValueHeaders": {k: [v] for k, v in headers.items()}, "queryStringParameters": None,
            "requestContext": {"stage": "bench", "requestId": str(uuid.uuid4())}, "body": body,
            "isBase64Encoded": False}


class Context:
    """Lambda's context: the default 10 s timeout, just started."""

    def __init__(self) -> None:
        self.deadline = time.monotonic() + 10

    def get_remaining_time_in_millis(self) -> int:
        return int((self.deadline - time.monotonic()) * 1000)


# A fresh interpreter per run: nothing but json, sys and time is imported before the handler,
# as in a new Lambda container. The event (built by the parent) is read before the clock starts.
COLD_SCRIPT = r"""
import importlib.util, json, sys, time
event = json.loads(sys.stdin.read())
class Context:
    def __init__(self): self.deadline = time.monotonic() + 10
    def get_remaining_time_in_millis(self): return int((self.deadline - time.monotonic()) * 1000)
t0 = time.perf_counter()
spec = importlib.util.spec_from_file_location("index", sys.argv[1])
app = importlib.util.module_from_spec(spec)
spec.loader.exec_module(app)
t1 = time.perf_counter()
setup = app.lambda_handler({"httpMethod": "GET"}, Context())
t2 = time.perf_counter()
first = app.lambda_handler(event, Context())
t3 = time.perf_counter()
assert setup["statusCode"] == 405 and first["statusCode"] == 200, (setup, first)
print(json.dumps({"import": t1 - t0, "clients": t2 - t1, "first_request": t3 - t2}))
"""
PHASES = ("import", "clients", "first_request")


def cold_runs(app_path: Path, endpoint: str) -> list[dict[str, float]]:
    env = {**os.environ, **ENV, "AWS_ENDPOINT_URL": endpoint}
    env.pop("PYTHONPATH", None)
    runs = []
    for _ in range(COLD_RUNS):
        out = subprocess.run([sys.executable, "-c", COLD_SCRIPT, str(app_path)], input=json.dumps(
            signed_event(valid_body())), capture_output=True, text=True, env=env, timeout=300, check=True)
        run = json.loads(out.stdout.strip().splitlines()[-1])
        run["total"] = sum(run[phase] for phase in PHASES)
        runs.append(run)
    return runs


def baseline_source() -> Path | None:
    """The handler at BASELINE_COMMIT in a temporary file, or None (no git, shallow clone)."""
    try:
        source = subprocess.run(["git", "show", f"{BASELINE_COMMIT}:handler/app.py"], cwd=ROOT,
                                capture_output=True, text=True, check=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    handle = tempfile.NamedTemporaryFile("w", suffix=".py", delete=False)  # noqa: SIM115 (kept for the runs)
    with handle:
        handle.write(source)
    return Path(handle.name)


def cold(endpoint: str) -> None:
    after = cold_runs(APP_PATH, endpoint)
    before_path = baseline_source()
    before = cold_runs(before_path, endpoint) if before_path else None
    if before_path:
        before_path.unlink()
    else:
        print(f"handler.cold: no baseline column (git show {BASELINE_COMMIT} failed)")
    for phase in (*PHASES, "total"):
        now = statistics.median(r[phase] * 1000 for r in after)
        line = f"handler.cold.{phase}_ms median={now:.1f} max={max(r[phase] for r in after) * 1000:.1f}"
        if before:
            then = statistics.median(r[phase] * 1000 for r in before)
            line += f" before={then:.1f} ({BASELINE_COMMIT})"
        print(line + f" n={len(after)}", flush=True)


def load_app() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_handler_app", APP_PATH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def time_events(app: ModuleType, events: list[dict[str, Any]], expect: int) -> list[float]:
    """Microseconds per handler call, the cyclic garbage collector off (as ``timeit`` does)."""
    out = []
    gc.collect()
    gc.disable()
    try:
        for event in events:
            context = Context()
            t0 = time.perf_counter_ns()
            resp = app.lambda_handler(event, context)
            out.append((time.perf_counter_ns() - t0) / 1000)
            assert resp["statusCode"] == expect, resp
    finally:
        gc.enable()
    return out


def report(name: str, samples: list[float]) -> None:
    p99 = statistics.quantiles(samples, n=100, method="inclusive")[98]
    print(f"handler.warm.{name}_us median={statistics.median(samples):.1f} p99={p99:.1f} n={len(samples)}",
          flush=True)


class Captured(logging.Handler):
    """Keeps the handler's log records, for the line Lambda would write."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def log_bytes(app: ModuleType) -> tuple[int, int]:
    """The bytes of an accepted delivery's log line in Lambda's JSON log format, and those its EMF
    members take (the line without them is shorter by as much)."""
    from webhook_templates.metrics import lambda_json_line

    logger, captured = logging.getLogger("webhook"), Captured()
    logger.addHandler(captured)
    try:
        assert app.lambda_handler(signed_event(valid_body()), Context())["statusCode"] == 200
    finally:
        logger.removeHandler(captured)
    (record,) = [r for r in captured.records if hasattr(r, "_aws")]
    line = lambda_json_line(record)
    for member in EMF_MEMBERS:
        delattr(record, member)
    return len(line.encode()), len(line.encode()) - len(lambda_json_line(record).encode())


def warm(endpoint: str) -> None:
    logging.getLogger("webhook").propagate = False  # no handler output mixed into the figures
    os.environ.update(ENV, AWS_ENDPOINT_URL=endpoint)
    app = load_app()
    assert app.lambda_handler(signed_event(valid_body()), Context())["statusCode"] == 200  # cold start
    line, emf = log_bytes(app)
    print(f"handler.log.delivery_line_bytes total={line} emf={emf}", flush=True)

    report("valid", time_events(app, [signed_event(valid_body()) for _ in range(EVENTS)], 200))
    invalid = json.dumps({"transactionId": "txn_bad", "amount": 1.005, "currency": "USD"})
    report("invalid_400", time_events(app, [signed_event(invalid) for _ in range(EVENTS)], 400))
    duplicate = signed_event(valid_body(), "msg_duplicate")
    assert app.lambda_handler(duplicate, Context())["statusCode"] == 200
    report("duplicate", time_events(app, [duplicate] * EVENTS, 200))
    unsigned = [signed_event(valid_body()) for _ in range(EVENTS)]
    for event in unsigned:
        event["headers"]["webhook-signature"] = event["multiValueHeaders"]["webhook-signature"][0] = "v1,AAAA"
    report("bad_signature_401", time_events(app, unsigned, 401))

    # The handler's own work: DynamoDB answers instantly, botocore's request path is bypassed.
    ddb = app.use_clients().ddb
    ddb.transact_write_items = lambda **kw: {}
    try:
        report("valid_own", time_events(app, [signed_event(valid_body()) for _ in range(EVENTS)], 200))
    finally:
        del ddb.transact_write_items
    stored = CannedAws.markers["msg_duplicate"]

    def cancelled(**_: Any) -> None:  # a new exception each time, as botocore raises
        raise ddb.exceptions.TransactionCanceledException(
            {"Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
             "CancellationReasons": [{"Code": "ConditionalCheckFailed"}, {"Code": "None"}]}, "TransactWriteItems")

    ddb.transact_write_items, ddb.get_item = cancelled, lambda **kw: {"Item": stored}
    try:
        report("duplicate_own", time_events(app, [duplicate] * EVENTS, 200))
    finally:
        del ddb.transact_write_items, ddb.get_item


def main() -> None:
    from webhook_templates.stack.minify import inline_source

    source = APP_PATH.read_text(encoding="utf-8")
    print(f"handler.size_bytes source={len(source.encode())} inlined={len(inline_source(source).encode())}",
          flush=True)
    endpoint = start_canned_aws()
    cold(endpoint)
    warm(endpoint)


if __name__ == "__main__":
    main()
