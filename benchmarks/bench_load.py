"""Load check: concurrent signed deliveries against ``make serve``'s endpoint.

Starts ``webhook-templates serve`` as a separate process on a free loopback
port, fires a bounded number of signed deliveries from this process (some of
them deliberate duplicates: the same delivery resent, as a sender retries),
then prints throughput, p50/p99 latency, and the number of transactions the
emulated DynamoDB table holds against the number expected (one per distinct
delivery).  The stored count is read from the server's table, not tallied
here.  Only loopback addresses are ever contacted.

    .venv/bin/python benchmarks/bench_load.py [--requests 400] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import http.client
import ipaddress
import json
import math
import random
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from webhook_templates.local import signing

# The child-process harness is test support, importable as the tests import it
# (pytest puts tests/ on sys.path for tests/conftest.py).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support.serve_process import start_process  # noqa: E402

MAX_REQUESTS = 5000
MAX_CONCURRENCY = 64
#: The whole run stops after this long, whatever is left.
DEADLINE_SECONDS = 300
REQUEST_TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class Delivery:
    """One delivery: its ``webhook-id`` and body (a duplicate shares both with the original)."""

    msg_id: str
    body: bytes


def plan(requests: int, duplicate_share: float, seed: int = 5) -> tuple[list[Delivery], int]:
    """The sends in order, and how many distinct deliveries they hold.

    Duplicates are copies of earlier deliveries, shuffled in so some copies
    are in flight at the same time as their original.
    """
    rng = random.Random(seed)
    duplicates = round(requests * duplicate_share)
    distinct = [
        Delivery(f"msg_{uuid.UUID(int=rng.getrandbits(128)).hex}", json.dumps({
            "transactionId": f"txn_load_{n:06d}_{rng.getrandbits(32):08x}",
            "amount": round(rng.uniform(0.01, 5000), 2),
            "currency": rng.choice(["USD", "EUR", "GBP"]),
            "status": "completed",
        }).encode())
        for n in range(requests - duplicates)
    ]
    sends = distinct + [rng.choice(distinct) for _ in range(duplicates)]
    rng.shuffle(sends)
    return sends, len(distinct)


def percentile(sorted_values: list[float], share: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    return sorted_values[max(0, math.ceil(share * len(sorted_values)) - 1)]


def loopback_url(url: str) -> tuple[str, int, str]:
    """``(host, port, path)`` of ``url``; refuses anything but a loopback address."""
    parts = urlsplit(url)
    if parts.hostname is None or not ipaddress.ip_address(parts.hostname).is_loopback:
        raise SystemExit(f"refusing to load-test {url}: loopback addresses only")
    return parts.hostname, parts.port or 80, parts.path


def send_one(url: str, secret: str, delivery: Delivery) -> tuple[int, float]:
    """POST one delivery, signed now; ``(status, latency in ms)``, status 0 on a connection error."""
    host, port, path = loopback_url(url)
    headers = signing.signed_headers(secret, delivery.body, delivery.msg_id)
    started = time.perf_counter()
    connection = http.client.HTTPConnection(host, port, timeout=REQUEST_TIMEOUT_SECONDS)
    try:
        connection.request("POST", path, body=delivery.body, headers=headers)
        response = connection.getresponse()
        response.read()
        status = response.status
    except OSError:
        status = 0
    finally:
        connection.close()
    return status, (time.perf_counter() - started) * 1000


def stored_transactions(url: str) -> int:
    """Transactions in the server's emulated table (its local-only stats route)."""
    host, port, _ = loopback_url(url)
    connection = http.client.HTTPConnection(host, port, timeout=REQUEST_TIMEOUT_SECONDS)
    try:
        connection.request("GET", "/_local/stats")
        return int(json.loads(connection.getresponse().read())["transactions"])
    finally:
        connection.close()


def run(requests: int, concurrency: int, duplicate_share: float, containers: int) -> int:
    """Run the load check and print its figures; 0 when every send got 2xx and the counts match."""
    secret = signing.generate_secret()
    sends, expected = plan(requests, duplicate_share)
    server = start_process("--quiet", "--secret", secret, "--concurrency", str(containers))
    url = server.url
    try:
        loopback_url(url)
        deadline = time.monotonic() + DEADLINE_SECONDS
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            results = list(pool.map(
                lambda d: send_one(url, secret, d) if time.monotonic() < deadline else (0, 0.0), sends))
        elapsed = time.perf_counter() - started
        stored = stored_transactions(url)
    finally:
        server.stop()

    latencies = sorted(latency for status, latency in results if status)
    statuses: dict[int, int] = {}
    for status, _ in results:
        statuses[status] = statuses.get(status, 0) + 1
    ok = sum(count for status, count in statuses.items() if 200 <= status < 300)
    print(f"load: {len(sends)} signed deliveries ({expected} distinct + {len(sends) - expected} duplicates), "
          f"{concurrency} concurrent senders, {containers} handler containers, {url}")
    print(f"  throughput   {len(sends) / elapsed:.1f} deliveries/s ({elapsed:.2f} s)")
    if latencies:
        print(f"  latency      p50 {percentile(latencies, 0.50):.1f} ms, p99 {percentile(latencies, 0.99):.1f} ms")
    print("  responses    " + ", ".join(f"{count} x {status or 'connection error'}"
                                        for status, count in sorted(statuses.items())))
    print(f"  stored       {stored} transactions (expected {expected})")
    print("  (an emulator's figures, not AWS's: moto snapshots the whole table on every "
          "TransactWriteItems, so they fall as the table grows)")
    return 0 if ok == len(sends) and stored == expected else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=400, help=f"deliveries to send (max {MAX_REQUESTS})")
    parser.add_argument("--concurrency", type=int, default=16, help=f"concurrent senders (max {MAX_CONCURRENCY})")
    parser.add_argument("--duplicates", type=float, default=0.10, help="share of sends that are duplicates")
    parser.add_argument("--containers", type=int, default=4, help="the server's concurrent handler executions")
    args = parser.parse_args()
    if not (1 <= args.requests <= MAX_REQUESTS and 1 <= args.concurrency <= MAX_CONCURRENCY
            and 0 <= args.duplicates < 1):
        parser.error("out of bounds: see --help")
    return run(args.requests, args.concurrency, args.duplicates, args.containers)


if __name__ == "__main__":
    raise SystemExit(main())
