"""Verification throughput: single verifications over HTTP (p50, p99) and bulk verification.

    .venv/bin/python scripts/bench_verify.py [--requests 3000] [--bulk 10000]

A fresh local chain in a temporary SCEAU_HOME; documents issued with `sceau issue`; then
`sceau serve --no-worker` (gunicorn, 2 workers) answers POST /api/v1/verify from 8 client threads,
and `sceau verify --bulk` checks a folder of documents with their receipts.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

SCEAU = str(Path(sys.executable).parent / "sceau")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sceau(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([SCEAU, *args], env=env, capture_output=True, text=True)
    if proc.returncode not in (0,) and args[0] != "verify":
        raise SystemExit(f"sceau {' '.join(args[:3])}… failed: {proc.stderr.strip()}")
    return proc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--bulk", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        env = {
            **os.environ,
            "SCEAU_HOME": str(home),
            "SCEAU_KEY_PASSPHRASE": "bench",
            "SCEAU_RPC_URL": "",
            "SCEAU_DATABASE_URL": "",
        }
        sceau("chain", "up", "--port", str(free_port()), env=env)
        try:
            sceau("deploy", env=env)
            sceau("issuer", "create", "Bench University", "--kind", "diploma", env=env)
            docs_dir = Path(tmp) / "docs"
            docs_dir.mkdir()
            docs = []
            for i in range(args.bulk):
                p = docs_dir / f"d{i:06}.pdf"
                p.write_bytes(b"%PDF-1.7 " + os.urandom(2048))
                docs.append(p)
            sceau("issue", "--issuer", "Bench University", *map(str, docs), env=env)
            print(f"{os.cpu_count()} cores; documents of 2 KiB with their receipts")
            bench_http(env, docs[:200], args.requests, args.threads)
            bench_bulk(env, docs_dir, len(docs))
        finally:
            sceau("chain", "down", env=env)


def bench_http(env: dict[str, str], docs: list[Path], total: int, threads: int) -> None:
    port = free_port()
    server = subprocess.Popen(
        [SCEAU, "serve", "--no-worker", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(base + "/healthz", timeout=1)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    raise SystemExit("sceau serve did not start") from None
                time.sleep(0.1)
        bodies = [(p.read_bytes(), p.with_name(p.name + ".receipt.json").read_bytes()) for p in docs]
        local = threading.local()
        latencies: list[float] = []
        lock = threading.Lock()
        verdicts: dict[str, int] = {}

        def one(i: int) -> None:
            s = getattr(local, "s", None) or requests.Session()
            local.s = s
            doc, receipt = bodies[i % len(bodies)]
            t0 = time.perf_counter()
            r = s.post(
                base + "/api/v1/verify", files={"file": ("d.pdf", doc), "receipt": ("r.json", receipt)}, timeout=30
            )
            dt = time.perf_counter() - t0
            v = r.json()["verdict"]
            with lock:
                latencies.append(dt)
                verdicts[v] = verdicts.get(v, 0) + 1

        with ThreadPoolExecutor(threads) as pool:  # warm-up
            list(pool.map(one, range(100)))
        latencies.clear()
        verdicts.clear()
        t0 = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(one, range(total)))
        elapsed = time.perf_counter() - t0
        q = statistics.quantiles(latencies, n=100)
        print(
            f"  HTTP single verifications: {total / elapsed:,.0f}/s ({total} requests, {threads} client threads), "
            f"p50 {q[49] * 1000:.1f} ms, p99 {q[98] * 1000:.1f} ms; verdicts {verdicts}"
        )
    finally:
        server.terminate()
        server.wait(30)


def bench_bulk(env: dict[str, str], folder: Path, n: int) -> None:
    t0 = time.perf_counter()
    proc = sceau("verify", "--bulk", str(folder), "--format", "csv", "--report", str(folder.parent / "r.csv"), env=env)
    elapsed = time.perf_counter() - t0
    valid = (folder.parent / "r.csv").read_text().count(",valid,")
    print(
        f"  bulk: {n / elapsed:,.0f} docs/s ({n} documents in {elapsed:.2f} s end to end, exit {proc.returncode}, "
        f"{valid} valid)"
    )


if __name__ == "__main__":
    main()
