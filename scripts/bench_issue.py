"""Issuance throughput: N documents of 100 KiB through `sceau issue` and through the HTTP API.

    .venv/bin/python scripts/bench_issue.py [--n 1000 --n 10000] [--skip-api] [--skip-cli]

Runs on a fresh local chain and SQLite database in a temporary SCEAU_HOME, as `make run` would.
For each path it prints documents per second (submission to confirmed receipt), the time to the
first and the last confirmed receipt, and the peak memory (max RSS) of the processes doing the
work. The API path sends multipart requests of 50 files from 4 client threads to `sceau serve`
(gunicorn, 2 workers, plus the anchoring worker process).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
SCEAU = str(Path(sys.executable).parent / "sceau")
DOC_SIZE = 100 * 1024
PASSPHRASE = "bench passphrase"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_docs(folder: Path, n: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        p = folder / f"doc-{i:06}.pdf"
        p.write_bytes(b"%PDF-1.7 " + os.urandom(DOC_SIZE - 9))
        paths.append(p)
    os.sync()  # measure issuing, not the write-back of the documents just made
    for p in paths:
        p.read_bytes()  # as a registrar's freshly exported PDFs would be: in the page cache
    return paths


def sceau(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([SCEAU, *args], env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"sceau {' '.join(args[:3])}… failed: {proc.stderr.strip()}")
    return proc


def vm_hwm_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def children(pid: int) -> list[int]:
    out = []
    for task in Path("/proc").glob("[0-9]*"):
        try:
            if int((task / "stat").read_text().split(")")[1].split()[1]) == pid:
                out.append(int(task.name))
        except (OSError, ValueError, IndexError):
            continue
    return out


def bench_cli(env: dict[str, str], docs: list[Path], out: Path, label: str = "CLI ") -> None:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    sceau("issue", "--issuer", "Bench University", "--out", str(out), "--json", *map(str, docs), env=env)
    elapsed = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    n = len(docs)
    t1 = time.perf_counter()
    sceau("issue", "--issuer", "Bench University", "--out", str(out / "one"), "--json", str(docs[0]), env=env)
    fixed = time.perf_counter() - t1
    print(
        f"  {label} N={n:>6}: {n / elapsed:>8,.0f} docs/s end to end ({elapsed:.2f} s, all receipts written at once); "
        f"{n / max(elapsed - fixed, 1e-9):>8,.0f} docs/s beyond the fixed {fixed:.2f} s of one run "
        f"(start-up, key unlock, one transaction); peak RSS {max(peak, before) / 1024:.0f} MiB"
    )


def bench_api(env: dict[str, str], docs: list[Path], port: int, keep: bool = True) -> None:
    env = {**env, "SCEAU_KEEP_DOCUMENTS": "1" if keep else "0"}
    server = subprocess.Popen(
        [SCEAU, "serve", "--port", str(port), "--workers", "2"],
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
        token = sceau("token", "create", "--issuer", "Bench University", "--json", env=env).stdout
        import json

        auth = {"Authorization": f"Bearer {json.loads(token)['token']}"}
        chunks = [docs[i : i + 50] for i in range(0, len(docs), 50)]
        ids: list[str] = []
        lock = threading.Lock()
        session_local = threading.local()

        def send(chunk: list[Path]) -> None:
            s = getattr(session_local, "s", None) or requests.Session()
            session_local.s = s
            files = [("file", (p.name, p.read_bytes(), "application/pdf")) for p in chunk]
            r = s.post(base + "/api/v1/documents", files=files, headers=auth, timeout=120)
            r.raise_for_status()
            with lock:
                ids.extend(d["id"] for d in r.json()["documents"])

        t0 = time.perf_counter()
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(send, chunks))
        submitted = time.perf_counter() - t0
        requests.post(base + "/api/v1/batches", headers=auth, timeout=60).raise_for_status()
        first = last = None
        while last is None:
            state = requests.get(f"{base}/api/v1/documents/{ids[-1]}", headers=auth, timeout=30).json()
            if state["status"] == "confirmed":
                if requests.get(f"{base}/api/v1/documents/{ids[0]}/receipt", headers=auth, timeout=30).ok:
                    first = first or time.perf_counter() - t0
                    last = time.perf_counter() - t0
            elif state["status"] == "failed":
                raise SystemExit(f"anchoring failed: {state['failure']}")
            else:
                time.sleep(0.05)
        pids = [server.pid, *children(server.pid)]
        pids += [c for p in pids[1:] for c in children(p)]
        peak = sum(vm_hwm_kib(p) for p in set(pids))
        n = len(docs)
        label = "API, uploads kept" if keep else "API, uploads not kept"
        print(
            f"  {label} N={n:>6}: {n / submitted:>8,.0f} docs/s accepted (202, committed) in {submitted:.2f} s; "
            f"{n / last:>8,.0f} docs/s to the last confirmed receipt ({last:.2f} s); "
            f"peak RSS of server + worker {peak / 1024:.0f} MiB"
        )
    finally:
        server.terminate()
        server.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, action="append", help="documents per run (repeatable)")
    parser.add_argument("--skip-api", action="store_true")
    parser.add_argument("--skip-cli", action="store_true")
    args = parser.parse_args()
    sizes = args.n or [1_000, 10_000]
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        port = free_port()
        env = {
            **os.environ,
            "SCEAU_HOME": str(home),
            "SCEAU_KEY_PASSPHRASE": PASSPHRASE,
            "SCEAU_RPC_URL": "",
            "SCEAU_DATABASE_URL": "",
            "SCEAU_BATCH_SIZE": "100000",
            "SCEAU_BATCH_SECONDS": "3600",
            "SCEAU_MAX_UPLOAD_BYTES": str(64 * 1024 * 1024),
        }
        sceau("chain", "up", "--port", str(free_port()), env=env)
        try:
            sceau("deploy", env=env)
            sceau("issuer", "create", "Bench University", "--kind", "diploma", env=env)
            print(f"{os.cpu_count()} cores; documents of {DOC_SIZE // 1024} KiB")
            for n in sizes:
                docs = make_docs(Path(tmp) / f"docs-{n}", n)
                if not args.skip_cli:
                    bench_cli(env, docs, Path(tmp) / f"receipts-{n}")
                    with tempfile.TemporaryDirectory(dir="/dev/shm") as shm:
                        bench_cli(env, docs, Path(shm), "CLI, receipts on tmpfs")
                if not args.skip_api:
                    bench_api(env, docs, port)
                    bench_api(env, docs, port, keep=False)
        finally:
            sceau("chain", "down", env=env)


if __name__ == "__main__":
    main()
