"""Verification throughput: single verifications over HTTP (p50, p99) and bulk verification.

    .venv/bin/python scripts/bench_verify.py [--requests 3000] [--bulk 10000]

A fresh local chain in a temporary SCEAU_HOME; documents issued with `sceau issue`; then
`sceau serve --no-worker` (gunicorn, 2 workers) answers POST /api/v1/verify from 8 client threads,
and `sceau verify --bulk` checks a folder of documents with their receipts.
"""

from __future__ import annotations

import argparse
import os
import shutil
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
            f"  HTTP single verifications, Python client: {total / elapsed:,.0f}/s ({total} requests, {threads} "
            f"client threads), p50 {q[49] * 1000:.1f} ms, p99 {q[98] * 1000:.1f} ms; verdicts {verdicts}"
        )
        if shutil.which("wrk"):
            bench_wrk(base, bodies, digest=False)
            bench_wrk(base, bodies, digest=True)
    finally:
        server.terminate()
        server.wait(30)


def bench_wrk(base: str, bodies: list[tuple[bytes, bytes]], digest: bool) -> None:
    """The same requests from wrk (a C load generator): the server's figure, not the client's.
    With `digest`, the JSON form: the document's SHA-256 and its receipt, no upload."""
    import hashlib
    import json

    boundary = "sceaubench"
    content_type = "application/json" if digest else f"multipart/form-data; boundary={boundary}"
    lua = ["local bodies = {}"]
    for doc, receipt in bodies[:50]:
        if digest:
            payload = {"sha256": hashlib.sha256(doc).hexdigest(), "receipt": json.loads(receipt)}
            lua.append("table.insert(bodies, '" + "".join(f"\\{b:03d}" for b in json.dumps(payload).encode()) + "')")
            continue
        body = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="d.pdf"\r\n\r\n'.encode()
            + doc
            + f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="receipt"; filename="r.json"\r\n\r\n'.encode()
            + receipt
            + f"\r\n--{boundary}--\r\n".encode()
        )
        lua.append("table.insert(bodies, '" + "".join(f"\\{b:03d}" for b in body) + "')")
    lua += [
        "local i = 0",
        "request = function()",
        "  i = i % #bodies + 1",
        f"  local headers = {{['Content-Type'] = '{content_type}'}}",
        "  return wrk.format('POST', '/api/v1/verify', headers, bodies[i])",
        "end",
    ]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write("\n".join(lua))
        script = f.name
    try:
        out = subprocess.run(
            ["wrk", "-t2", "-c16", "-d10s", "--latency", "-s", script, base], capture_output=True, text=True, timeout=60
        ).stdout
    finally:
        os.unlink(script)
    rate = next((ln.split()[1] for ln in out.splitlines() if ln.startswith("Requests/sec")), "?")
    lat = {ln.split()[0]: ln.split()[1] for ln in out.splitlines() if ln.strip().startswith(("50%", "99%"))}
    errors = next((ln.strip() for ln in out.splitlines() if "Non-2xx" in ln), "no errors")
    print(
        f"  HTTP single verifications, wrk, {'JSON digest + receipt' if digest else 'multipart file + receipt'} "
        f"(2 threads, 16 connections, 10 s): {rate}/s, "
        f"p50 {lat.get('50%', '?')}, p99 {lat.get('99%', '?')}; {errors}"
    )


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
