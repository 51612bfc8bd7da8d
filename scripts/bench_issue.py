"""Issuance throughput: N documents of 100 KiB through `sceau issue` and through the HTTP API.

    .venv/bin/python scripts/bench_issue.py [--n 1000 --n 10000] [--skip-api] [--skip-cli]
        [--web-workers 2 --web-workers 1]

Runs on a fresh local chain and SQLite database in a temporary SCEAU_HOME, as `make run` would,
and prints one table, each figure beside its target (issue 10, set for N = 10,000):

- `sceau issue`: documents per second from start to every receipt written (≥ 5,000 /s): one
  file per receipt (on disk, and on tmpfs), and all receipts in one ZIP (`--receipts-zip`);
- the API (`sceau serve`: gunicorn, 2 web workers or --web-workers, plus the anchoring worker process; multipart
  requests of 50 files from 4 client threads): documents per second accepted, every 202 committed
  (≥ 2,000 /s), and to the last document's confirmed receipt (≥ 1,500 /s);
- peak memory of each run's own processes (≤ 300 MiB for server + worker): the sum of their
  proportional set sizes (Pss, a page shared by forked processes counted once in all), sampled
  every 50 ms from the run's start to its end, over the process started for the run and all its
  descendants. For `sceau issue`, at least its own high-water RSS (VmHWM, read at each sample:
  it holds a peak that fell between two samples). Not wait4's ru_maxrss: Linux carries the
  parent's high-water mark over fork and exec, so after this script has held the documents in
  memory to check a run, every later child would report the script's peak as its own.

Every answer timed is checked, outside the timing: every receipt `sceau issue` wrote verifies as
valid against its document, every 202 names one document per file sent with that file's SHA-256,
and the last confirmed receipt verifies as valid against its document. Exits 1 if any check fails;
a figure below its target is reported, not a failure.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
SCEAU = str(Path(sys.executable).parent / "sceau")
DOC_SIZE = 100 * 1024
PASSPHRASE = "bench passphrase"
ISSUER = "Bench University"
MIB = 1024 * 1024


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


# ---------------------------------------------------------------- what a run costs in memory


def _parents() -> dict[int, int]:
    """Every process's parent, read from /proc."""
    out = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            out[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    return out


def tree(root: int) -> set[int]:
    """`root` and all its descendants."""
    parents = _parents()
    found = {root}
    while True:
        more = {pid for pid, parent in parents.items() if parent in found} - found
        if not more:
            return found
        found |= more


def pss_bytes(pid: int) -> int:
    """The process's proportional set size (its private pages, plus its share of pages it shares
    with others), or its resident set size where smaps_rollup cannot be read; 0 once it is gone."""
    for path, field in ((f"/proc/{pid}/smaps_rollup", "Pss:"), (f"/proc/{pid}/status", "VmRSS:")):
        try:
            for line in Path(path).read_text().splitlines():
                if line.startswith(field):
                    return int(line.split()[1]) * 1024
        except (OSError, ValueError):
            continue
    return 0


def high_water_bytes(pid: int) -> int:
    """The process's peak resident set size since it exec'd (VmHWM); 0 once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


class PeakMemory:
    """Samples the summed Pss of a process and its descendants every `interval` seconds while in
    the `with` block; `peak` is the highest sum seen, or the root's own high-water RSS if higher."""

    def __init__(self, root: int, interval: float = 0.05) -> None:
        self.root, self.interval, self.peak = root, interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while True:
            self.peak = max(self.peak, sum(pss_bytes(p) for p in tree(self.root)), high_water_bytes(self.root))
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


# ---------------------------------------------------------------- checking the answers


@dataclass
class Checks:
    """Every answer a run timed, checked after the timing; `failures` says what was wrong."""

    rpc_url: str
    home: Path
    failures: list[str]
    checked: int = 0

    def expect(self, ok: bool, what: str) -> bool:
        if not ok:
            self.failures.append(what)
        return ok

    def receipts_valid(self, label: str, pairs: list[tuple[bytes, bytes]]) -> None:
        """Each (document, receipt) verifies as valid against the chain, at one block."""
        from certifier.chain.deployment import connect, current, trust_anchor
        from verifier.bulk import Item, verify_items
        from verifier.core.anchors import TrustAnchors
        from verifier.service import Verifier

        deployment = current(connect(self.rpc_url), self.home)
        verifier = Verifier(TrustAnchors((trust_anchor(deployment),), "the bench deployment"), self.rpc_url)
        try:
            lines = verify_items([Item(f"doc-{i}", d, r) for i, (d, r) in enumerate(pairs)], verifier)
        finally:
            verifier.close()
        bad = [(line.name, line.verdict.outcome.value) for line in lines if line.verdict.outcome.value != "valid"]
        self.expect(not bad, f"{label}: {len(bad)} receipt(s) of {len(pairs)} not valid, e.g. {bad[:3]}")
        self.checked += len(pairs)


# ---------------------------------------------------------------- the runs


@dataclass
class Row:
    run: str
    n: int
    measure: str
    value: float
    unit: str
    target: float | None = None  # at least this many docs/s, or at most this many MiB
    at_most: bool = False

    def meets(self) -> str:
        if self.target is None:
            return ""
        return "yes" if (self.value <= self.target if self.at_most else self.value >= self.target) else "no"

    def cells(self) -> list[str]:
        target = "" if self.target is None else f"{'≤' if self.at_most else '≥'} {self.target:,.0f} {self.unit}"
        return [self.run, f"{self.n:,}", self.measure, f"{self.value:,.0f} {self.unit}", target, self.meets()]


def bench_cli(
    env: dict[str, str], docs: list[Path], out: Path, label: str, checks: Checks, *, archive: bool = False
) -> list[Row]:
    """`sceau issue` on `docs`, its receipts into `out` (one file each, or with `archive` all in
    `out`/receipts.zip), timed from the command's start to its exit; then once more with one
    document, for the fixed cost of a run."""

    def issue(paths: list[Path], folder: Path) -> tuple[float, int, dict[str, Any]]:
        """Run `sceau issue`; its seconds, its peak memory and its JSON answer."""
        folder.mkdir(parents=True, exist_ok=True)
        target = ["--receipts-zip", str(folder / "receipts.zip")] if archive else ["--out", str(folder)]
        # the documents (1 GB just written by this script) and the last run's receipts on the disk
        # first: else this run's one fsync waits behind their writeback (2.5 s instead of 1.7 here)
        os.sync()
        with tempfile.TemporaryFile("w+") as stdout:  # a file, not a pipe: nothing waits on a reader
            t0 = time.perf_counter()
            proc = subprocess.Popen(
                [SCEAU, "issue", "--issuer", ISSUER, *target, "--json", *map(str, paths)],
                env=env,
                stdout=stdout,
                stderr=subprocess.DEVNULL,
            )
            with PeakMemory(proc.pid) as memory:
                _, status, _ = os.wait4(proc.pid, 0)
            elapsed = time.perf_counter() - t0
            proc.returncode = os.waitstatus_to_exitcode(status)
            if proc.returncode != 0:
                raise SystemExit(f"{label}: sceau issue exited with {proc.returncode}")
            stdout.seek(0)
            answer = json.loads(stdout.read())
        return elapsed, memory.peak, answer

    elapsed, peak, answer = issue(docs, out)
    fixed, _, one = issue(docs[:1], out / "one")
    for paths, given in ((docs, answer), (docs[:1], one)):
        if archive:
            with zipfile.ZipFile(given["receiptsArchive"]) as zf:
                members = {name: zf.read(name) for name in zf.namelist()}
            receipts = [members.get(name, b"") for name in given["receipts"]]
            expected = [p.name + ".receipt.json" for p in paths]
            checks.expect(given["receipts"] == expected, f"{label}: the archive's members are not the documents'")
        else:
            receipts = [Path(r).read_bytes() for r in given["receipts"]]
        if checks.expect(len(receipts) == len(paths), f"{label}: {len(receipts)} receipts for {len(paths)} documents"):
            pairs = [(d.read_bytes(), r) for d, r in zip(paths, receipts, strict=True)]
            checks.receipts_valid(label, pairs)
    n = len(docs)
    rows = [Row(label, n, "documents/s, start to every receipt written", n / elapsed, "/s", 5_000)]
    if elapsed > 1.1 * fixed:  # else the run is all fixed cost, and the difference noise
        rows.append(Row(label, n, f"documents/s beyond one run's fixed {fixed:.2f} s", n / (elapsed - fixed), "/s"))
    return [*rows, Row(label, n, "peak memory of sceau issue (+ its hashing processes)", peak / MIB, "MiB")]


def wait_for_service(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(base + "/healthz", timeout=1).status_code in (200, 503):  # 503: no worker beat yet
                return
        except requests.ConnectionError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            raise SystemExit("sceau serve did not start")
        time.sleep(0.1)


def bench_api(
    env: dict[str, str], docs: list[Path], port: int, checks: Checks, *, keep: bool, web_workers: int = 2
) -> list[Row]:
    label = f"API ({web_workers} web worker{'s' if web_workers > 1 else ''}), uploads {'kept' if keep else 'not kept'}"
    # a database of its own: a run must not inherit an earlier run's work (its documents still to
    # seal would compete with this run's batch, and make the second run look slower than the first)
    database = Path(env["SCEAU_HOME"]) / f"api-{'kept' if keep else 'not-kept'}-{len(docs)}-{web_workers}.sqlite"
    env = {**env, "SCEAU_KEEP_DOCUMENTS": "1" if keep else "0", "SCEAU_DATABASE_URL": f"sqlite:///{database}"}
    log = Path(env["SCEAU_HOME"]) / f"serve-{'kept' if keep else 'not-kept'}-{len(docs)}-{web_workers}.log"
    server = subprocess.Popen(
        [SCEAU, "serve", "--port", str(port), "--workers", str(web_workers)],
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        with PeakMemory(server.pid) as memory:
            wait_for_service(base, server)
            token = sceau("token", "create", "--issuer", ISSUER, "--json", env=env).stdout
            auth = {"Authorization": f"Bearer {json.loads(token)['token']}"}
            chunks = [docs[i : i + 50] for i in range(0, len(docs), 50)]
            answers: list[tuple[list[Path], int, Any]] = []
            lock = threading.Lock()
            session_local = threading.local()

            def send(chunk: list[Path]) -> None:
                s = getattr(session_local, "s", None) or requests.Session()
                session_local.s = s
                files = [("file", (p.name, p.read_bytes(), "application/pdf")) for p in chunk]
                r = s.post(base + "/api/v1/documents", files=files, headers=auth, timeout=120)
                with lock:
                    answers.append((chunk, r.status_code, r.json() if r.status_code == 202 else r.text[:200]))

            t0 = time.perf_counter()
            with ThreadPoolExecutor(4) as pool:
                list(pool.map(send, chunks))
            submitted = time.perf_counter() - t0
            ids: dict[str, Path] = {}
            for chunk, status, body in answers:
                if checks.expect(status == 202, f"{label}: a request of {len(chunk)} files answered {status}: {body}"):
                    got = [(d["id"], d["sha256"]) for d in body["documents"]]
                    want = [hashlib.sha256(p.read_bytes()).hexdigest() for p in chunk]
                    if checks.expect(
                        [sha for _, sha in got] == want,
                        f"{label}: a 202 names {len(got)} document(s) for {len(chunk)} files, or other fingerprints",
                    ):
                        ids.update((doc_id, p) for (doc_id, _), p in zip(got, chunk, strict=True))
                checks.checked += 1
            checks.expect(len(ids) == len(docs), f"{label}: {len(ids)} distinct documents accepted of {len(docs)}")
            if len(ids) != len(docs):
                return []
            r = requests.post(base + "/api/v1/batches", headers=auth, timeout=60)
            checks.expect(r.status_code == 202, f"{label}: POST /batches answered {r.status_code}, not 202")
            last_id = list(ids)[-1]  # the last one accepted; all are in one batch (SCEAU_BATCH_SIZE)
            while True:
                state = requests.get(f"{base}/api/v1/documents/{last_id}", headers=auth, timeout=30).json()
                if state["status"] == "confirmed":
                    receipt = requests.get(f"{base}/api/v1/documents/{last_id}/receipt", headers=auth, timeout=30)
                    last = time.perf_counter() - t0
                    break
                if state["status"] == "failed":
                    raise SystemExit(f"{label}: anchoring failed: {state['failure']}")
                time.sleep(0.05)
        if checks.expect(receipt.status_code == 200, f"{label}: the confirmed receipt answered {receipt.status_code}"):
            checks.receipts_valid(
                f"{label}, the last confirmed receipt", [(ids[last_id].read_bytes(), receipt.content)]
            )
        n = len(docs)
        return [
            Row(label, n, "documents/s accepted (every 202 committed)", n / submitted, "/s", 2_000),
            Row(label, n, "documents/s to the last confirmed receipt", n / last, "/s", 1_500),
            Row(label, n, "peak memory of server + worker (Pss)", memory.peak / MIB, "MiB", 300, at_most=True),
        ]
    finally:
        server.terminate()
        server.wait(30)
        # a worker restarted during the run (its keys opened again beside the web server) is not
        # the run the figures claim to be
        restarts = [line for line in log.read_text(errors="replace").splitlines() if "worker exited with" in line]
        checks.expect(not restarts, f"{label}: the anchoring worker restarted during the run: {restarts[:1]}")


def print_table(rows: list[Row]) -> None:
    header = ["run", "N", "measure", "value", "target", "meets"]
    cells = [header, *(r.cells() for r in rows)]
    widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
    right = {1, 3}
    for i, line in enumerate(cells):
        padded = (c.rjust(w) if j in right else c.ljust(w) for j, (c, w) in enumerate(zip(line, widths, strict=True)))
        print("  ".join(padded))
        if i == 0:
            print("  ".join("-" * w for w in widths))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--n", type=int, action="append", help="documents per run (repeatable)")
    parser.add_argument("--skip-api", action="store_true")
    parser.add_argument("--skip-cli", action="store_true")
    parser.add_argument("--skip-tmpfs", action="store_true", help="no run with receipts on tmpfs")
    parser.add_argument(
        "--web-workers", type=int, action="append", help="gunicorn workers of `sceau serve` (repeatable) [2]"
    )
    args = parser.parse_args()
    sizes = args.n or [1_000, 10_000]
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        port, chain_port = free_port(), free_port()
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
        sceau("chain", "up", "--port", str(chain_port), env=env)
        checks = Checks(f"http://127.0.0.1:{chain_port}", home, [])
        try:
            sceau("deploy", env=env)
            sceau("issuer", "create", ISSUER, "--kind", "diploma", env=env)
            for n in sizes:
                docs = make_docs(Path(tmp) / f"docs-{n}", n)
                if not args.skip_cli:
                    rows += bench_cli(env, docs, Path(tmp) / f"receipts-{n}", "sceau issue", checks)
                    if not args.skip_tmpfs:
                        with tempfile.TemporaryDirectory(dir="/dev/shm") as shm:
                            rows += bench_cli(env, docs, Path(shm), "sceau issue, receipts on tmpfs", checks)
                    zipped = Path(tmp) / f"archive-{n}"
                    rows += bench_cli(env, docs, zipped, "sceau issue --receipts-zip", checks, archive=True)
                if not args.skip_api:
                    for web_workers in args.web_workers or [2]:
                        for keep in (True, False):
                            rows += bench_api(env, docs, port, checks, keep=keep, web_workers=web_workers)
        finally:
            sceau("chain", "down", env=env)
    print(f"{os.cpu_count()} cores; documents of {DOC_SIZE // 1024} KiB; targets (issue 10) are set for N = 10,000")
    print_table(rows)
    if checks.failures:
        print(f"\nFAILED: {len(checks.failures)} wrong answer(s):", *checks.failures, sep="\n  ", file=sys.stderr)
        sys.exit(1)
    print(f"\nchecked: {checks.checked} answers, all right (receipts valid, every 202 holding its documents)")


if __name__ == "__main__":
    main()
