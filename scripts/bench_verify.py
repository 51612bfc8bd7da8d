"""Verification throughput: single verifications over HTTP (p50, p99) and bulk verification,
next to a Flask hello-world served the same way, every answer checked.

    .venv/bin/python scripts/bench_verify.py [--requests 3000] [--bulk 10000] [--batches 20]
        [--bulk-size 10240] [--http-size 102400] [--duration 10] [--bulk-only]

A fresh local chain in a temporary SCEAU_HOME; `--bulk` documents of `--bulk-size` bytes issued with
`sceau issue` in `--batches` batches, and 400 documents of `--http-size` bytes in 8 more (so that
verifications spread over many roots, not one cached root); then `sceau serve --no-worker`
(gunicorn, 2 workers) answers POST /api/v1/verify from Python client threads and from wrk (whose
Lua hook checks that every answer says "valid"), a Flask hello-world under gunicorn with 2 workers
is measured with the same wrk settings right before each wrk run, and `sceau-verify --bulk` checks
the folder of bulk documents with their receipts (every line of its CSV report checked, its peak
memory reported).
Any answer that is not "valid" makes the script exit 1: a fast wrong answer is not a figure.
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
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--bulk-size", type=int, default=10 * 1024, help="bytes per bulk document")
    parser.add_argument("--http-size", type=int, default=100 * 1024, help="bytes per document sent over HTTP")
    parser.add_argument("--duration", type=int, default=10, help="seconds of each wrk run")
    parser.add_argument("--bulk-only", action="store_true", help="only the bulk check (e.g. 100,000 documents)")
    args = parser.parse_args()
    global DURATION
    DURATION = args.duration
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        env = {
            **os.environ,
            "SCEAU_HOME": str(home),
            "SCEAU_KEY_PASSPHRASE": "bench",
            "SCEAU_RPC_URL": "",
            "SCEAU_DATABASE_URL": "",
            # one client sends every request: the per-client rate limits would measure themselves
            "SCEAU_RATE_LIMIT_VERIFY": "",
            "SCEAU_RATE_LIMIT_BULK": "",
            # a bulk check of more documents than the public endpoint's bound (the CLI reads it too)
            "SCEAU_MAX_BULK_ITEMS": "1000000",
            "SCEAU_MAX_BULK_EXPANDED_BYTES": str(64 << 30),
        }
        chain_port = free_port()
        sceau("chain", "up", "--port", str(chain_port), env=env)
        try:
            sceau("deploy", env=env)
            sceau("issuer", "create", "Bench University", "--kind", "diploma", env=env)
            docs_dir = Path(tmp) / "docs"
            docs = make_docs(docs_dir, "d", args.bulk, args.bulk_size)
            issue(docs, args.batches, env)
            print(
                f"{os.cpu_count()} cores; bulk documents of {args.bulk_size:,} bytes in {args.batches} batches"
                + ("" if args.bulk_only else f", HTTP documents of {args.http_size:,} bytes in 8 batches")
            )
            rows: list[tuple[str, str, str]] = []
            if not args.bulk_only:
                http_docs = make_docs(Path(tmp) / "http", "h", 400, args.http_size)
                issue(http_docs, 8, env)
                rows += bench_http(env, http_docs, args.requests, args.threads)
            rows.append(bench_bulk(env, docs_dir, len(docs), args.bulk_size, f"http://127.0.0.1:{chain_port}"))
            print("\n| path | measured | target |\n|---|---|---|")
            for path, measured, target in rows:
                print(f"| {path} | {measured} | {target} |")
        finally:
            sceau("chain", "down", env=env)


DURATION = 10


def make_docs(folder: Path, prefix: str, count: int, size: int) -> list[Path]:
    folder.mkdir()
    docs = []
    for i in range(count):
        p = folder / f"{prefix}{i:06}.pdf"
        p.write_bytes(b"%PDF-1.7 " + os.urandom(max(1, size - 9)))
        docs.append(p)
    return docs


def issue(docs: list[Path], batches: int, env: dict[str, str]) -> None:
    step = max(1, -(-len(docs) // batches))
    for start in range(0, len(docs), step):
        sceau("issue", "--issuer", "Bench University", *map(str, docs[start : start + step]), env=env)


HELLO_APP = """
from flask import Flask
app = Flask(__name__)

@app.get("/")
def hello():
    return "Hello, world"
"""


def bench_hello() -> float | None:
    """Requests/s of a Flask hello-world under gunicorn (2 workers), with the wrk settings below:
    the yardstick that makes the verification figures comparable across machines."""
    if not shutil.which("wrk"):
        return None
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "hello.py").write_text(HELLO_APP)
        gunicorn = str(Path(sys.executable).parent / "gunicorn")
        server = subprocess.Popen(
            [gunicorn, "-w", "2", "-b", f"127.0.0.1:{port}", "hello:app"],
            cwd=tmp,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_http(f"http://127.0.0.1:{port}/")
            out = subprocess.run(
                ["wrk", "-t2", "-c16", f"-d{DURATION}s", "--latency", f"http://127.0.0.1:{port}/"],
                capture_output=True,
                text=True,
                timeout=60,
            ).stdout
        finally:
            server.terminate()
            server.wait(30)
    rate = float(next(ln.split()[1] for ln in out.splitlines() if ln.startswith("Requests/sec")))
    print(f"  Flask hello-world under gunicorn (2 workers), wrk 2 threads 16 connections {DURATION} s: {rate:,.0f}/s")
    return rate


def wait_http(url: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            requests.get(url, timeout=1)
            return
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise SystemExit(f"{url} did not answer") from None
            time.sleep(0.1)


def bench_http(env: dict[str, str], docs: list[Path], total: int, threads: int) -> list[tuple[str, str, str]]:
    """The Python client's figure, then each wrk run right after a hello-world run of its own: on a
    shared machine the load moves within a minute, and a ratio means something only between runs
    made seconds apart."""
    port = free_port()
    server = subprocess.Popen(
        [SCEAU, "serve", "--no-worker", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(base + "/healthz")
        bodies = [(p.read_bytes(), p.with_name(p.name + ".receipt.json").read_bytes()) for p in docs]
        kib = len(bodies[0][0]) / 1024
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
            v = r.json().get("verdict", f"HTTP {r.status_code}")
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
        if set(verdicts) != {"valid"}:
            raise SystemExit(f"some verifications were not valid: {verdicts}")
        rows = []
        if shutil.which("wrk"):
            for digest, target in ((True, "≥ 0.38 × hello-world, p99 ≤ 25 ms"), (False, "≥ 1,000/s")):
                hello = bench_hello()
                rate, p99 = bench_wrk(base, bodies, digest=digest)
                ratio = f" = {rate / hello:.2f} × hello-world ({hello:,.0f}/s)" if hello else ""
                what = "JSON {sha256, receipt}" if digest else f"multipart {kib:,.0f} KiB document + receipt"
                rows.append(
                    (f"single verification over HTTP, {what} (wrk)", f"{rate:,.0f}/s{ratio}, p99 {p99}", target)
                )
        return rows
    finally:
        server.terminate()
        server.wait(30)


def bench_wrk(base: str, bodies: list[tuple[bytes, bytes]], digest: bool) -> tuple[float, str]:
    """The same requests from wrk (a C load generator): the server's figure, not the client's.
    With `digest`, the JSON form: the document's SHA-256 and its receipt, no upload."""
    import hashlib
    import json

    boundary = "sceaubench"
    content_type = "application/json" if digest else f"multipart/form-data; boundary={boundary}"
    folder = Path(tempfile.mkdtemp(prefix="sceau-wrk-"))
    lua = ["local bodies = {}"]
    for n, (doc, receipt) in enumerate(bodies[:50]):
        if digest:
            payload = json.dumps({"sha256": hashlib.sha256(doc).hexdigest(), "receipt": json.loads(receipt)}).encode()
        else:
            payload = (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="d.pdf"\r\n\r\n'.encode()
                + doc
                + f"\r\n--{boundary}\r\n".encode()
                + b'Content-Disposition: form-data; name="receipt"; filename="r.json"\r\n\r\n'
                + receipt
                + f"\r\n--{boundary}--\r\n".encode()
            )
        (folder / f"{n}.body").write_bytes(payload)  # read by the script: 100 KiB bodies do not fit a Lua literal
        lua.append(
            f"do local f = io.open('{folder / f'{n}.body'}', 'rb'); table.insert(bodies, f:read('*a')); f:close() end"
        )
    lua += [
        "local i = 0",
        "request = function()",
        "  i = i % #bodies + 1",
        f"  local headers = {{['Content-Type'] = '{content_type}'}}",
        "  return wrk.format('POST', '/api/v1/verify', headers, bodies[i])",
        "end",
        # every answer is checked: a fast "error" is not a verification
        "local threads = {}",
        "function setup(thread) table.insert(threads, thread) end",
        "function init(args) good = 0; bad = 0 end",
        "function response(status, headers, body)",
        '  if status == 200 and (string.find(body, \'"verdict":"valid"\', 1, true)',
        '      or string.find(body, \'"verdict": "valid"\', 1, true)) then good = good + 1 else bad = bad + 1 end',
        "end",
        "function done(summary, latency, requests)",
        "  local g, b = 0, 0",
        "  for _, t in ipairs(threads) do g = g + t:get('good'); b = b + t:get('bad') end",
        "  io.write(string.format('CHECKED %d %d\\n', g, b))",
        "end",
    ]
    script = folder / "bench.lua"
    script.write_text("\n".join(lua))
    try:
        out = subprocess.run(
            ["wrk", "-t2", "-c16", f"-d{DURATION}s", "--latency", "-s", str(script), base],
            capture_output=True,
            text=True,
            timeout=DURATION + 60,
        ).stdout
    finally:
        shutil.rmtree(folder)
    rate = float(next((ln.split()[1] for ln in out.splitlines() if ln.startswith("Requests/sec")), "0"))
    lat = {ln.split()[0]: ln.split()[1] for ln in out.splitlines() if ln.strip().startswith(("50%", "99%"))}
    good, bad = (int(x) for x in next(ln.split()[1:3] for ln in out.splitlines() if ln.startswith("CHECKED")))
    print(
        f"  HTTP single verifications, wrk, {'JSON digest + receipt' if digest else 'multipart file + receipt'} "
        f"(2 threads, 16 connections, {DURATION} s): {rate:,.0f}/s, "
        f"p50 {lat.get('50%', '?')}, p99 {lat.get('99%', '?')}; answers checked: {good} valid, {bad} not"
    )
    if bad or not good:
        raise SystemExit(f"wrk got {bad} answers that were not 'valid' (and {good} that were)")
    return rate, lat.get("99%", "?")


def bench_bulk(env: dict[str, str], folder: Path, n: int, size: int, rpc_url: str) -> tuple[str, str, str]:
    """`sceau-verify --bulk` (the verifier's own command, as an employer runs it) on the folder, end
    to end (start-up included); its peak memory from the kernel's accounting of the child."""
    import csv

    report = folder.parent / "r.csv"
    exe = str(Path(sys.executable).parent / "sceau-verify")
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [exe, "--bulk", str(folder), "--format", "csv", "--report", str(report), "--rpc-url", rpc_url],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    peak_mib = usage.ru_maxrss / 1024  # KiB on Linux; the largest of the process and its waited-for children
    with report.open(newline="") as f:
        verdicts = [row["verdict"] for row in csv.DictReader(f)]
    print(
        f"  bulk: {n / elapsed:,.0f} docs/s ({n} documents in {elapsed:.2f} s end to end, exit {code}, "
        f"{verdicts.count('valid')} valid, peak memory {peak_mib:,.0f} MiB)"
    )
    if code != 0 or len(verdicts) != n or set(verdicts) != {"valid"}:
        raise SystemExit(f"bulk: exit {code}, {len(verdicts)} lines, verdicts {set(verdicts)}")
    what = f"bulk verification, {n:,} documents of {size / 1024:,.0f} KiB, end to end"
    return what, f"{n / elapsed:,.0f} docs/s, peak memory {peak_mib:,.0f} MiB", "≥ 10,000 docs/s"


if __name__ == "__main__":
    main()
