"""Handler benchmark: cold start and warm per-event cost, AWS served by moto in process.

Run as ``python benchmarks/bench_handler.py``. Prints one line per figure and asserts
nothing. Cold figures come from fresh interpreters; warm figures time ``lambda_handler``
alone (events are built and signed beforehand). moto answers in process, so the figures
exclude network round trips to DynamoDB and Secrets Manager that a real function pays;
the ``*_no_aws`` lines replace the DynamoDB calls with canned answers to show the
handler's own cost (HMAC, parsing, validation, logging).
"""
from __future__ import annotations

import base64
import gc
import hashlib
import hmac
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
APP_PATH = ROOT / "handler" / "app.py"
TABLE = "bench-transactions"
SECRET = "Zk3uQx9Lm2Rt7Vb1Nc8Hd5Jf0Gs4Ka6Pw3Ey9Tz2Xq7Ub1Ri"
EVENTS = 500
COLD_RUNS = 5
FRESH_TABLE_EVERY = 10  # moto copies the whole table per transaction; real tables don't slow down

ENV = {
    "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull, "TABLE_NAME": TABLE,
}

# Runs in a fresh interpreter: the handler is imported before moto so that the import
# figure includes boto3/botocore, as on Lambda; the first request pays client creation,
# the secret fetch and one transaction.
COLD_SCRIPT = r"""
import importlib.util, json, os, sys, time
t0 = time.perf_counter()
spec = importlib.util.spec_from_file_location("index", sys.argv[1])
app = importlib.util.module_from_spec(spec)
spec.loader.exec_module(app)
t_import = time.perf_counter() - t0
sys.path.insert(0, sys.argv[2])
import bench_handler as b
from moto import mock_aws
with mock_aws():
    os.environ["SIGNING_SECRET_ARN"] = b.create_resources()
    event = b.signed_event(b.valid_body())
    t1 = time.perf_counter()
    st = app._init()
    t2 = time.perf_counter()
    st["keys"], st["keys_at"] = app._load_keys(st), time.time()
    t3 = time.perf_counter()
    st["keys"] = None  # the first request fetches it again, as a real cold start does
    resp = app.lambda_handler(event, None)
    t4 = time.perf_counter()
    assert resp["statusCode"] == 200, resp
    print(json.dumps({"import": t_import, "clients": t2 - t1, "secret": t3 - t2, "first_request": t4 - t3}))
"""


def create_resources() -> str:
    """The stack's table and secret, in moto; returns the secret ARN."""
    import boto3

    ddb = boto3.client("dynamodb", region_name="us-east-1")
    create_table(ddb)
    sm = boto3.client("secretsmanager", region_name="us-east-1")
    return sm.create_secret(Name="bench-secret-" + uuid.uuid4().hex, SecretString=json.dumps({"current": SECRET}))["ARN"]


def create_table(ddb: Any) -> None:
    """The deployed table's shape, taken from the template generator."""
    from webhook_templates.stack.storage import table_shape

    ddb.create_table(TableName=TABLE, **table_shape())


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


def load_app() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_handler_app", APP_PATH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def time_events(app: ModuleType, events: list[dict[str, Any]], expect: int,
                between: Callable[[int], None] | None = None) -> list[float]:
    """Microseconds per handler call.

    The cyclic garbage collector is off while timing, as ``timeit`` does: moto deep-copies
    the table on every transaction, and collection pauses for that garbage would otherwise
    land on random events and dominate p99."""
    out = []
    gc.collect()
    gc.disable()
    try:
        for i, event in enumerate(events):
            if between:
                between(i)
            t0 = time.perf_counter_ns()
            resp = app.lambda_handler(event, None)
            out.append((time.perf_counter_ns() - t0) / 1000)
            assert resp["statusCode"] == expect, resp
    finally:
        gc.enable()
    return out


def report(name: str, samples: list[float], unit: str = "us") -> None:
    p99 = statistics.quantiles(samples, n=100, method="inclusive")[98]
    print(f"handler.{name}_{unit} median={statistics.median(samples):.1f} p99={p99:.1f} n={len(samples)}", flush=True)


def cold() -> None:
    env = {**os.environ, **ENV}
    runs = []
    for _ in range(COLD_RUNS):
        out = subprocess.run([sys.executable, "-c", COLD_SCRIPT, str(APP_PATH), str(Path(__file__).parent)],
                             capture_output=True, text=True, env=env, timeout=300, check=True)
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    for key in ("import", "clients", "secret", "first_request"):
        values = [r[key] * 1000 for r in runs]
        print(f"handler.cold.{key}_ms median={statistics.median(values):.1f} max={max(values):.1f} n={len(values)}")
    totals = [sum(r.values()) * 1000 - r["secret"] * 1000 for r in runs]
    print(f"handler.cold.total_ms median={statistics.median(totals):.1f} max={max(totals):.1f} n={len(totals)}"
          " (import + clients + first request incl. secret fetch)", flush=True)


def warm() -> None:
    import logging

    import boto3
    from moto import mock_aws

    logging.getLogger("webhook").propagate = False  # no handler output mixed into the figures
    os.environ.update(ENV)
    app = load_app()
    with mock_aws():
        os.environ["SIGNING_SECRET_ARN"] = create_resources()
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        assert app.lambda_handler(signed_event(valid_body()), None)["statusCode"] == 200  # cold start

        def fresh_table(i: int) -> None:
            if i % FRESH_TABLE_EVERY == 0:
                ddb.delete_table(TableName=TABLE)
                create_table(ddb)

        valid = [signed_event(valid_body()) for _ in range(EVENTS)]
        report("warm.valid", time_events(app, valid, 200, fresh_table))

        invalid_body = json.dumps({"transactionId": "txn_bad", "amount": 1.005, "currency": "USD"})
        invalid = [signed_event(invalid_body) for _ in range(EVENTS)]
        report("warm.invalid_400", time_events(app, invalid, 400))

        fresh_table(0)
        duplicate = signed_event(valid_body(), "msg_duplicate")
        assert app.lambda_handler(duplicate, None)["statusCode"] == 200
        report("warm.duplicate", time_events(app, [duplicate] * EVENTS, 200))

        unsigned = [signed_event(valid_body()) for _ in range(EVENTS)]
        for event in unsigned:
            event["headers"]["webhook-signature"] = event["multiValueHeaders"]["webhook-signature"][0] = "v1,AAAA"
        report("warm.bad_signature_401", time_events(app, unsigned, 401))

        # The handler's own cost: DynamoDB answers instantly and botocore is bypassed.
        stored = app.lambda_handler(signed_event(valid_body(), "msg_stored"), None)["body"]
        ddb_client = app._STATE["ddb"]
        real_put, real_get = ddb_client.transact_write_items, ddb_client.get_item
        ddb_client.transact_write_items = lambda **kw: {}
        try:
            report("warm.valid_no_aws", time_events(app, [signed_event(valid_body()) for _ in range(EVENTS)], 200))
        finally:
            ddb_client.transact_write_items = real_put
        def raise_canceled(**_: Any) -> None:  # a new exception each time, as botocore raises
            raise ddb_client.exceptions.TransactionCanceledException(
                {"Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
                 "CancellationReasons": [{"Code": "ConditionalCheckFailed"}, {"Code": "None"}]}, "TransactWriteItems")

        ddb_client.transact_write_items = raise_canceled
        ddb_client.get_item = lambda **kw: {"Item": {"response": {"S": stored}}}
        try:
            report("warm.duplicate_no_aws", time_events(app, [signed_event(valid_body())] * EVENTS, 200))
        finally:
            ddb_client.transact_write_items, ddb_client.get_item = real_put, real_get


def main() -> None:
    print(f"handler.size_bytes={APP_PATH.stat().st_size}", flush=True)
    cold()
    warm()


if __name__ == "__main__":
    main()
