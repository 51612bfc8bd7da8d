"""A year of French diplomas, simulated: issuers, daily waves, the API, the chain, the verifiers.

    .venv/bin/python scripts/simulate_year.py [--fraction 0.1] [--issuers 80] [--sqlite | --database URL]

France issues about 2 million diplomas a year. This runs `--fraction` of them (default 0.1) from
`--issuers` universities (sizes drawn log-normal: a few large, many small), accredited directly on
a throw-away anvil node, against a fresh PostgreSQL database (created for the run, dropped after;
`--sqlite` for a SQLite file) and `sceau serve` (gunicorn, 2 workers, and the anchoring worker).

Time is compressed: day d of the year is one wave. The chain's clock is first moved to 1 January of
next year, then to 08:00 of day d before its wave (`evm_increaseTime` + `evm_mine`), so anchors carry
the simulated dates; the wave goes through `POST /api/v1/documents` (JSON fingerprints with
displayed fields, chunks per issuer, each issuer with its own token), and the script waits until
every document of the day is confirmed before the next day. Arrivals per day are a base rate plus a
Gaussian peak around 1 July holding `--peak-share` of the year. The batch size is chosen so that an
average issuer's wave on the peak day makes about three batches (`--batch-size` overrides it);
`SCEAU_BATCH_SECONDS` (`--batch-seconds`, wall seconds) anchors the rest of each wave.

Then 10,000 random single verifications (`POST /api/v1/verify` with `{sha256, receipt}`, receipts
from `GET /api/v1/documents/{id}/receipt`) and one bulk check of up to 100,000 documents
(`sceau verify --bulk DIR --format csv`); every verdict must be "valid" (exit 1 otherwise). It prints
the figures, and what they say about a year on a real network.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import json
import math
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from certifier.store.scratch import scratch_database  # noqa: E402

SCEAU = str(Path(sys.executable).parent / "sceau")
YEARLY = 2_000_000  # diplomas a year in France, all levels: the scale the figures are projected to
DOC_SIZE = 1024
DEFAULT_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
CITIES = (
    "Aix-Marseille", "Amiens", "Angers", "Antilles", "Artois", "Avignon", "Besançon", "Bordeaux", "Brest",
    "Bretagne-Sud", "Caen", "Cergy", "Chambéry", "Clermont-Ferrand", "Corse", "Côte d'Azur", "Dijon", "Évry",
    "Grenoble", "Guyane", "La Réunion", "La Rochelle", "Le Havre", "Le Mans", "Lille", "Limoges", "Littoral",
    "Lorraine", "Lyon 1", "Lyon 2", "Lyon 3", "Montpellier", "Montpellier 3", "Mulhouse", "Nantes", "Nîmes",
    "Nouvelle-Calédonie", "Orléans", "Paris 1", "Paris 2", "Paris 3", "Paris 8", "Paris 10", "Paris 13",
    "Paris-Cité", "Paris-Est Créteil", "Paris-Saclay", "Pau", "Perpignan", "Poitiers", "Polynésie", "Reims",
    "Rennes 1", "Rennes 2", "Rouen", "Saint-Étienne", "Sorbonne", "Sorbonne Nouvelle", "Strasbourg",
    "Toulon", "Toulouse 1", "Toulouse 2", "Toulouse 3", "Tours", "Valenciennes", "Versailles", "Gustave Eiffel",
    "PSL", "Nanterre", "Lyon Saint-Étienne", "Bourgogne", "Franche-Comté", "Haute-Alsace", "Savoie",
    "Picardie", "Normandie", "Champagne", "Auvergne", "Limousin", "Vendée", "Landes", "Cévennes",
)  # fmt: skip
FIRST = ("Jeanne", "Louis", "Camille", "Hugo", "Léa", "Nathan", "Chloé", "Lucas", "Manon", "Yanis", "Inès", "Adam")
LAST = ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Petit", "Durand", "Leroy", "Moreau", "Simon", "Nguyen")
DEGREES = ("Licence de droit", "Master de chimie", "Licence d'histoire", "Master d'informatique", "Doctorat")

T = TypeVar("T")


# ---------------------------------------------------------------- the year's schedule


@dataclass(frozen=True)
class Schedule:
    """How many documents each issuer sends on each day of the year."""

    day_totals: list[int]
    issuer_shares: list[float]
    waves: list[Counter[int]]  # per day: issuer index -> documents


def day_weights(days: int, peak_share: float, sigma: float) -> list[float]:
    """A base rate plus a Gaussian around 1 July (day 181) that holds `peak_share` of the year:
    juries sit in June and July, and most diplomas follow."""
    gauss = [math.exp(-0.5 * ((d - 181) / sigma) ** 2) for d in range(days)]
    height = peak_share / (1 - peak_share) * days / sum(gauss)
    return [1 + height * g for g in gauss]


def apportion(total: int, weights: list[float]) -> list[int]:
    """`total` split in proportion to `weights`, whole numbers summing to `total` (largest remainder)."""
    exact = [total * w / sum(weights) for w in weights]
    counts = [int(x) for x in exact]
    for i in sorted(range(len(exact)), key=lambda i: counts[i] - exact[i])[: total - sum(counts)]:
        counts[i] += 1
    return counts


def make_schedule(total: int, issuers: int, peak_share: float, sigma: float, rng: random.Random) -> Schedule:
    sizes = sorted((rng.lognormvariate(0, 0.8) for _ in range(issuers)), reverse=True)
    shares = [s / sum(sizes) for s in sizes]
    day_totals = apportion(total, day_weights(365, peak_share, sigma))
    waves = [Counter(rng.choices(range(issuers), shares, k=n)) for n in day_totals]
    return Schedule(day_totals, shares, waves)


def default_batch_size(day_totals: list[int], issuers: int) -> int:
    """About three batches for an average issuer's wave on the peak day."""
    return max(1, math.ceil(max(day_totals) / issuers / 3))


def anchors_expected(waves: list[list[float]], batch_size: int) -> int:
    """Anchors if each issuer's daily wave is anchored in full batches plus one for the rest."""
    return sum(math.ceil(w / batch_size) for day in waves for w in day if w > 0)


def full_scale(schedule: Schedule, peak_share: float, sigma: float) -> tuple[list[list[float]], int]:
    """Expected waves at 2 million a year (large enough that the expectation is the wave), and the
    batch size the same rule would choose for them."""
    days = apportion(YEARLY, day_weights(365, peak_share, sigma))
    waves = [[n * share for share in schedule.issuer_shares] for n in days]
    return waves, default_batch_size(days, len(schedule.issuer_shares))


# ---------------------------------------------------------------- processes and helpers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rpc(url: str, method: str, *params: Any) -> Any:
    r = requests.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}, timeout=120)
    body = r.json()
    if "error" in body:
        raise RuntimeError(f"{method}: {body['error']}")
    return body["result"]


def set_chain_time(url: str, target: int) -> None:
    """Move the chain's clock forward to `target` (a Unix time) and mine a block there."""
    latest = int(rpc(url, "eth_getBlockByNumber", "latest", False)["timestamp"], 16)
    if target > latest:
        rpc(url, "evm_increaseTime", target - latest)
    rpc(url, "evm_mine")


@dataclass(frozen=True)
class Storage:
    slots: int  # storage slots of the registry contract
    dump_bytes: int  # anvil_dumpState, gzip as returned (accounts, and the blocks it keeps)


def chain_storage(url: str, registry: str) -> Storage:
    raw = bytes.fromhex(str(rpc(url, "anvil_dumpState"))[2:])
    state = json.loads(gzip.decompress(raw))
    accounts = {a.lower(): v for a, v in state["accounts"].items()}
    return Storage(len(accounts[registry.lower()].get("storage", {})), len(raw))


def process_tree(pid: int) -> dict[int, str]:
    """`pid` and its descendants, with their command lines."""
    parents: dict[int, int] = {}
    for task in Path("/proc").glob("[0-9]*"):
        try:
            parents[int(task.name)] = int((task / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    tree, frontier = {pid}, [pid]
    while frontier:
        kids = [p for p, parent in parents.items() if parent in frontier and p not in tree]
        tree.update(kids)
        frontier = kids
    out = {}
    for p in tree:
        try:
            out[p] = Path(f"/proc/{p}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
    return out


def peak_rss_mib(pid: int) -> float:
    """VmHWM: the process's peak resident memory."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def in_threads(threads: int, work: Callable[[requests.Session, T], None], items: list[T]) -> None:
    """`work(session, item)` for every item from `threads` threads, each with its own HTTP session."""
    local = threading.local()

    def one(item: T) -> None:
        s = getattr(local, "s", None)
        if s is None:
            s = local.s = requests.Session()
        work(s, item)

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, items))


def wait_http(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while True:
        try:
            requests.get(url, timeout=2)
            return
        except requests.ConnectionError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"sceau serve did not start; see {log}:\n{log.read_text()[-2000:]}") from None
            time.sleep(0.2)


# ---------------------------------------------------------------- the run


@dataclass
class Issued:
    """What the year produced, as the script saw it."""

    doc_ids: list[str] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)  # document id -> its bytes on disk
    issuer_of: dict[str, str] = field(default_factory=dict)
    submit_seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


def university(city: str) -> str:
    if " " in city:  # "Université Paris 1", "Université Côte d'Azur"
        return f"Université {city}"
    return f"Université d'{city}" if city[0] in "AEIOUÉ" else f"Université de {city}"


def fields_for(rng: random.Random, serial: int) -> dict[str, str]:
    return {
        "holder": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
        "degree": rng.choice(DEGREES),
        "number": f"D27-{serial:07d}",
    }


def run_year(
    args: argparse.Namespace,
    schedule: Schedule,
    names: list[str],
    tokens: list[str],
    base: str,
    rpc_url: str,
    sessions: Any,
    docs_dir: Path,
    rng: random.Random,
) -> Issued:
    from sqlalchemy import func, select

    from certifier.store.db import Document

    issued = Issued()
    jan1 = int(datetime(date.today().year + 1, 1, 1, tzinfo=UTC).timestamp())
    serial = 0
    started = time.monotonic()
    for day, wave in enumerate(schedule.waves):
        set_chain_time(rpc_url, jan1 + day * 86400 + 8 * 3600)
        chunks: list[tuple[int, list[tuple[Path, dict[str, Any]]]]] = []
        for i, count in sorted(wave.items()):
            entries = []
            for _ in range(count):
                serial += 1
                path = docs_dir / f"{i:02d}" / f"d{serial:07d}.pdf"
                path.parent.mkdir(exist_ok=True)
                data = b"%PDF-1.7 " + os.urandom(DOC_SIZE - 9)
                path.write_bytes(data)
                entry = {
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "kind": "diploma",
                    "fields": fields_for(rng, serial),
                }
                entries.append((path, entry))
            chunks += [(i, entries[k : k + args.chunk]) for k in range(0, len(entries), args.chunk)]

        def send(s: requests.Session, chunk: tuple[int, list[tuple[Path, dict[str, Any]]]]) -> None:
            i, entries = chunk
            r = s.post(
                f"{base}/api/v1/documents",
                json={"documents": [e for _, e in entries]},
                headers={"Authorization": f"Bearer {tokens[i]}"},
                timeout=120,
            )
            if r.status_code != 202:
                raise SystemExit(f"POST /api/v1/documents: {r.status_code} {r.text[:500]}")
            docs = r.json()["documents"]
            with issued.lock:
                for (path, entry), d in zip(entries, docs, strict=True):
                    assert d["sha256"] == entry["sha256"]
                    issued.doc_ids.append(d["id"])
                    issued.files[d["id"]] = path
                    issued.issuer_of[d["id"]] = names[i]

        t0 = time.perf_counter()
        in_threads(args.clients, send, chunks)
        issued.submit_seconds += time.perf_counter() - t0
        deadline = time.monotonic() + 300
        while True:  # the day ends when its wave is confirmed
            with sessions() as s:
                waiting = dict(
                    s.execute(
                        select(Document.status, func.count())
                        .where(Document.status != "confirmed")
                        .group_by(Document.status)
                    ).all()
                )
            if waiting.get("failed"):
                raise SystemExit(f"day {day}: {waiting['failed']} documents failed; see GET /api/v1/documents/ID")
            if not waiting:
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"day {day}: documents still waiting after 300 s: {waiting}")
            time.sleep(0.05)
        if day % 30 == 29 or day == 364:
            print(
                f"  day {day + 1:>3}: {len(issued.doc_ids):>8,} documents confirmed, "
                f"{time.monotonic() - started:,.0f} s",
                flush=True,
            )
    return issued


@dataclass(frozen=True)
class VerifyFigures:
    count: int
    rate: float
    p50_ms: float
    p99_ms: float
    bulk_count: int
    bulk_rate: float


def verify_phase(
    args: argparse.Namespace,
    issued: Issued,
    names_tokens: dict[str, str],
    base: str,
    env: dict[str, str],
    work: Path,
    rng: random.Random,
) -> VerifyFigures:
    """Receipts through the API; single verifications over HTTP; one bulk check of a folder."""
    bulk_ids = rng.sample(issued.doc_ids, min(args.bulk, len(issued.doc_ids)))
    receipts: dict[str, bytes] = {}

    def fetch(s: requests.Session, doc_id: str) -> None:
        token = names_tokens[issued.issuer_of[doc_id]]
        r = s.get(f"{base}/api/v1/documents/{doc_id}/receipt", headers={"Authorization": f"Bearer {token}"}, timeout=60)
        if r.status_code != 200:
            raise SystemExit(f"GET receipt {doc_id}: {r.status_code} {r.text[:300]}")
        receipts[doc_id] = r.content

    t0 = time.perf_counter()
    in_threads(args.clients, fetch, bulk_ids)
    print(f"  {len(bulk_ids):,} receipts fetched through the API in {time.perf_counter() - t0:.1f} s", flush=True)

    k = args.verifications
    sample = rng.sample(bulk_ids, k) if k <= len(bulk_ids) else rng.choices(bulk_ids, k=k)
    latencies: list[float] = []
    verdicts: Counter[str] = Counter()
    lock = threading.Lock()

    def verify(s: requests.Session, doc_id: str) -> None:
        body = {
            "sha256": hashlib.sha256(issued.files[doc_id].read_bytes()).hexdigest(),
            "receipt": json.loads(receipts[doc_id]),
        }
        t = time.perf_counter()
        r = s.post(f"{base}/api/v1/verify", json=body, timeout=60)
        dt = time.perf_counter() - t
        verdict = r.json().get("verdict") if r.status_code == 200 else f"HTTP {r.status_code}"
        with lock:
            latencies.append(dt)
            verdicts[str(verdict)] += 1

    in_threads(args.clients, verify, sample[:100])  # warm-up: imports, connections, caches
    latencies.clear()
    verdicts.clear()
    t0 = time.perf_counter()
    in_threads(args.clients, verify, sample)
    elapsed = time.perf_counter() - t0
    if set(verdicts) != {"valid"}:
        raise SystemExit(f"single verifications not all valid: {dict(verdicts)}")

    folder = work / "bulk"
    folder.mkdir()
    expected: dict[str, tuple[str, str]] = {}
    for doc_id in bulk_ids:
        src = issued.files[doc_id]
        name = f"{src.parent.name}-{src.name}"
        os.link(src, folder / name)
        (folder / f"{name}.receipt.json").write_bytes(receipts[doc_id])
        expected[name] = (hashlib.sha256(src.read_bytes()).hexdigest(), issued.issuer_of[doc_id])
    report = work / "bulk.csv"
    bulk_env = {
        **env,
        "SCEAU_MAX_BULK_ITEMS": str(len(bulk_ids)),
        "SCEAU_MAX_BULK_EXPANDED_BYTES": str(2**40),
    }
    t0 = time.perf_counter()
    proc = subprocess.run(
        [SCEAU, "verify", "--bulk", str(folder), "--format", "csv", "--report", str(report)],
        env=bulk_env,
        capture_output=True,
        text=True,
    )
    bulk_elapsed = time.perf_counter() - t0
    with report.open(newline="") as f:
        rows = list(csv.DictReader(f))
    wrong = [
        r["file"] for r in rows if r["verdict"] != "valid" or expected.get(r["file"]) != (r["sha256"], r["issuer"])
    ]
    if proc.returncode != 0 or len(rows) != len(bulk_ids) or wrong or {r["file"] for r in rows} != set(expected):
        raise SystemExit(
            f"bulk: exit {proc.returncode}, {len(rows)} lines for {len(bulk_ids)} documents, {len(wrong)} wrong "
            f"(first: {wrong[:3]}); {proc.stderr.strip()[-500:]}"
        )
    return VerifyFigures(
        k,
        k / elapsed,
        quantile(latencies, 0.5) * 1000,
        quantile(latencies, 0.99) * 1000,
        len(bulk_ids),
        len(bulk_ids) / bulk_elapsed,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fraction", type=float, default=0.1, help="share of the 2M diplomas a year to run")
    parser.add_argument("--issuers", type=int, default=80)
    parser.add_argument("--database", default=DEFAULT_DATABASE, help="PostgreSQL server (a fresh database on it)")
    parser.add_argument("--sqlite", action="store_true", help="a SQLite file instead of PostgreSQL")
    parser.add_argument("--batch-size", type=int, help="SCEAU_BATCH_SIZE (default: ~3 batches per peak wave)")
    parser.add_argument("--batch-seconds", type=float, default=0.5, help="SCEAU_BATCH_SECONDS, wall seconds")
    parser.add_argument("--peak-share", type=float, default=0.5, help="share of the year in the July peak")
    parser.add_argument("--peak-sigma", type=float, default=15.0, help="days, standard deviation of the peak")
    parser.add_argument("--chunk", type=int, default=200, help="documents per POST")
    parser.add_argument("--clients", type=int, default=4, help="client threads")
    parser.add_argument("--verifications", type=int, default=10_000)
    parser.add_argument("--bulk", type=int, default=100_000)
    parser.add_argument("--gwei", default="1,10", help="gas prices to cost a year at")
    parser.add_argument("--eth-eur", type=float, default=3000.0, help="assumed ETH price in euros")
    parser.add_argument("--seed", type=int, default=2027)
    args = parser.parse_args()
    if args.issuers > len(CITIES):
        parser.error(f"at most {len(CITIES)} issuers")

    rng = random.Random(args.seed)
    total = max(1, round(YEARLY * args.fraction))
    schedule = make_schedule(total, args.issuers, args.peak_share, args.peak_sigma, rng)
    batch_size = args.batch_size or default_batch_size(schedule.day_totals, args.issuers)
    print(
        f"{os.cpu_count()} cores; {total:,} diplomas ({args.fraction:g} of {YEARLY:,}) from {args.issuers} issuers; "
        f"peak day {max(schedule.day_totals):,}, quietest {min(schedule.day_totals):,}; SCEAU_BATCH_SIZE={batch_size}, "
        f"SCEAU_BATCH_SECONDS={args.batch_seconds:g}; database: {'SQLite' if args.sqlite else 'PostgreSQL'}",
        flush=True,
    )

    with tempfile.TemporaryDirectory(prefix="sceau-year-") as tmp:
        work = Path(tmp)
        home = work / "home"
        home.mkdir(mode=0o700)
        docs_dir = work / "docs"
        docs_dir.mkdir()
        os.environ.update(SCEAU_HOME=str(home), SCEAU_SCRYPT_N="2048")
        os.environ.pop("SCEAU_KEY_PASSPHRASE", None)  # each issuer's own passphrase, from secrets.toml
        with scratch_database(None if args.sqlite else args.database, work, "sceau_year") as url:
            return simulate(args, schedule, batch_size, work, home, docs_dir, url, rng)


def simulate(
    args: argparse.Namespace,
    schedule: Schedule,
    batch_size: int,
    work: Path,
    home: Path,
    docs_dir: Path,
    url: str,
    rng: random.Random,
) -> int:
    from sqlalchemy import func, select

    from certifier.chain import localchain
    from certifier.chain.deployment import connect, deploy
    from certifier.chain.issuers import create_issuer
    from certifier.keys.custody import store_secret
    from certifier.service.auth import create_token
    from certifier.store.db import Batch, Document, session_factory, upgrade

    node = localchain.up(free_port(), base=home)
    server: subprocess.Popen[bytes] | None = None
    try:
        os.environ.update(SCEAU_RPC_URL=node.url, SCEAU_DATABASE_URL=url)
        w3 = connect(node.url)
        deployment, _ = deploy(w3, home)
        t0 = time.perf_counter()
        names, tokens = [], []
        upgrade(url)
        sessions = session_factory(url)
        for i in range(args.issuers):
            name = university(CITIES[i])
            passphrase = os.urandom(12).hex()
            create_issuer(
                w3, name, ("diploma",), f"{(i % 95) + 1:03d}{i:04d}{'ABCDEFGH'[i % 8]}", passphrase, base=home
            )
            store_secret(name, "passphrase", passphrase, home)
            with sessions() as s:
                tokens.append(create_token(s, name, ["issue", "read"], "simulate_year")[1])
                s.commit()
            names.append(name)
        print(
            f"  {args.issuers} issuers accredited, each with its key, passphrase and token: "
            f"{time.perf_counter() - t0:.1f} s",
            flush=True,
        )
        jan1 = int(datetime(date.today().year + 1, 1, 1, tzinfo=UTC).timestamp())
        set_chain_time(node.url, jan1)
        before = chain_storage(node.url, deployment.registry)

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if k != "SCEAU_KEY_PASSPHRASE"}
        server_env = {
            **env,
            "SCEAU_BATCH_SIZE": str(batch_size),
            "SCEAU_BATCH_SECONDS": str(args.batch_seconds),
            "SCEAU_POLL_INTERVAL": "0.05",
            "SCEAU_RATE_LIMIT_VERIFY": "",  # the verifications below come from one address
        }
        log = work / "serve.log"
        with log.open("wb") as out:
            server = subprocess.Popen(
                [SCEAU, "serve", "--port", str(port), "--workers", "2"], env=server_env, stdout=out, stderr=out
            )
        wait_http(base + "/healthz", server, log)

        t0 = time.perf_counter()
        issued = run_year(args, schedule, names, tokens, base, node.url, sessions, docs_dir, rng)
        year_seconds = time.perf_counter() - t0
        after = chain_storage(node.url, deployment.registry)

        with sessions() as s:
            batches = list(s.execute(select(Batch.gas_used, Batch.document_count).where(Batch.status == "confirmed")))
            delays = [
                (c or math.inf) - d
                for d, c in s.execute(
                    select(Document.created_at, Batch.confirmed_at).join(Batch, Document.batch_id == Batch.id)
                )
            ]
            confirmed = s.scalar(select(func.count()).where(Document.status == "confirmed")) or 0
        docs = len(issued.doc_ids)
        if confirmed != docs or sum(b.document_count for b in batches) != docs:
            raise SystemExit(f"{docs} documents sent, {confirmed} confirmed, {sum(b[1] for b in batches)} in batches")
        gas = sum(int(b.gas_used or 0) for b in batches)
        figures = verify_phase(args, issued, dict(zip(names, tokens, strict=True)), base, env, work, rng)

        tree = process_tree(server.pid)
        web = [p for p, cmd in tree.items() if "certifier.service.server" in cmd]
        worker = [p for p, cmd in tree.items() if "-m certifier.cli worker" in cmd]
        report(
            args,
            schedule,
            batch_size,
            docs=docs,
            anchors=len(batches),
            gas=gas,
            before=before,
            after=after,
            delays=delays,
            submit_seconds=issued.submit_seconds,
            year_seconds=year_seconds,
            figures=figures,
            web_rss=[peak_rss_mib(p) for p in web],
            worker_rss=[peak_rss_mib(p) for p in worker],
        )
        return 0
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        localchain.down(home)


def report(
    args: argparse.Namespace,
    schedule: Schedule,
    batch_size: int,
    *,
    docs: int,
    anchors: int,
    gas: int,
    before: Storage,
    after: Storage,
    delays: list[float],
    submit_seconds: float,
    year_seconds: float,
    figures: VerifyFigures,
    web_rss: list[float],
    worker_rss: list[float],
) -> None:
    per_anchor = gas / anchors
    waves = [[float(n) for n in day.values()] for day in schedule.waves]
    model = anchors_expected(waves, batch_size)
    full, full_size = full_scale(schedule, args.peak_share, args.peak_sigma)
    full_policy = anchors_expected(full, full_size)
    full_default = anchors_expected(full, 1000)
    slots = after.slots - before.slots
    rows = [
        ("documents", f"{docs:,}"),
        ("issuers", f"{args.issuers}"),
        ("anchors sent (batches)", f"{anchors:,} ({docs / anchors:.1f} documents each; {model:,} by the wave model)"),
        ("gas", f"{gas:,} in all, {per_anchor:,.0f} per anchor, {gas / docs:,.1f} per document"),
        (
            "chain storage growth",
            f"{slots:,} storage slots of the registry ({slots * 32:,} bytes of values: one per anchor, no "
            f"revocations); anvil_dumpState {before.dump_bytes / 1e6:.1f} MB -> {after.dump_bytes / 1e6:.1f} MB "
            "gzip (it keeps blocks and transactions too)",
        ),
        (
            "time to a receipt",
            f"median {statistics.median(delays):.2f} s, worst {max(delays):.2f} s (wall; compressed days)",
        ),
        ("API, documents accepted", f"{docs / submit_seconds:,.0f} docs/s ({args.clients} clients, {args.chunk}/POST)"),
        ("the year, wall time", f"{year_seconds:,.0f} s (each day waits for its wave's receipts)"),
        (
            "single verifications",
            f"{figures.count:,}, all valid: {figures.rate:,.0f}/s ({args.clients} clients), "
            f"p50 {figures.p50_ms:.1f} ms, p99 {figures.p99_ms:.1f} ms",
        ),
        ("bulk check", f"{figures.bulk_count:,} documents, all valid: {figures.bulk_rate:,.0f} docs/s end to end"),
        (
            "peak RSS",
            f"web: {' + '.join(f'{r:.0f}' for r in web_rss)} MiB (gunicorn master + workers); "
            f"anchoring worker: {' + '.join(f'{r:.0f}' for r in worker_rss)} MiB",
        ),
    ]
    width = max(len(k) for k, _ in rows)
    print()
    for k, v in rows:
        print(f"  {k:<{width}}  {v}")

    prices = [float(g) for g in args.gwei.split(",")]

    def cost(gas_year: float) -> str:
        return "; ".join(
            f"{g:g} gwei: {gas_year * g / 1e9:,.2f} ETH = {gas_year * g / 1e9 * args.eth_eur:,.0f} €" for g in prices
        )

    naive = gas / docs * YEARLY
    policy = full_policy * per_anchor
    default = full_default * per_anchor
    print(
        f"\nWhat it says about a real network ({YEARLY:,} diplomas a year; ETH at {args.eth_eur:,.0f} € assumed; "
        "anchoring gas as on anvil, the same on any EVM chain; no revocations):\n"
        f"  - gas per document measured here x {YEARLY:,} = {naive / 1e6:,.1f} Mgas a year ({cost(naive)}).\n"
        f"    An upper bound: at {args.fraction:g} of the volume, batches are {1 / args.fraction:,.0f} times smaller "
        "than a full year would make them.\n"
        f"  - the same policy at full scale (batches of {full_size:,}, "
        f"~3 per issuer on the peak day): {full_policy:,} anchors x {per_anchor:,.0f} gas = "
        f"{policy / 1e6:,.1f} Mgas, {policy / YEARLY:.1f} gas per document ({cost(policy)}).\n"
        f"  - the service's defaults (SCEAU_BATCH_SIZE=1000, a day's wave in one batch when it fits): "
        f"{full_default:,} anchors = {default / 1e6:,.1f} Mgas, {default / YEARLY:.1f} gas per document "
        f"({cost(default)}).\n"
        f"  - chain state: one 32-byte slot per anchor, about {max(full_policy, full_default):,} slots "
        f"({max(full_policy, full_default) * 32 / 1e6:.2f} MB of values) a year, whatever the batch size."
    )


if __name__ == "__main__":
    sys.exit(main())
