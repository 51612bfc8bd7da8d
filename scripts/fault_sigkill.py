"""The anchoring worker SIGKILLed at random moments, many times, while documents keep coming.

    .venv/bin/python scripts/fault_sigkill.py [--documents 2000] [--kills 100] [--seed 1]

Starts its own anvil node, registry, issuer and SQLite store (or --database-url), submits the
documents in as many rounds as there are kills, and in each round starts `sceau worker` and
SIGKILLs it at a random moment once it is up. Then one last worker finishes the work, and the
figures are printed: documents lost (not confirmed), documents anchored twice (in a root anchored
more than once, or in two anchored roots), and roots on chain the database does not know.
tests/test_worker_resilience.py runs a short campaign (10 kills, 200 documents).
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from certifier.store.db import Batch, Document, Lease, WorkerBeat, now  # noqa: E402
from certifier.store.documents import NewDocument, submit  # noqa: E402


@dataclass
class Figures:
    documents: int
    kills: int
    confirmed: int
    lost: int
    anchored_twice: int
    unknown_roots: int
    batches: int
    seconds: float

    def lines(self) -> list[str]:
        return [
            f"documents submitted          {self.documents}",
            f"worker SIGKILLs              {self.kills}",
            f"batches                      {self.batches}",
            f"documents confirmed          {self.confirmed}",
            f"documents lost               {self.lost}",
            f"documents anchored twice     {self.anchored_twice}",
            f"roots on chain not in the db {self.unknown_roots}",
            f"wall time                    {self.seconds:.0f} s",
        ]


def _await(condition: Any, deadline: float, what: str) -> None:
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.02)


def _worker(issuer: str, env: dict[str, str], *once: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "certifier.cli.commands", "worker", "--issuer", issuer, *once],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def campaign(
    sessions: sessionmaker[Session],
    issuer: str,
    kind: int,
    contract: Any,
    key: str,
    from_block: int,
    *,
    documents: int,
    kills: int,
    seed: int = 1,
    batch_size: int = 25,
    max_run: float = 1.5,
    env: dict[str, str] | None = None,
) -> Figures:
    """Submit `documents` in `kills` rounds, SIGKILL a worker at a random moment in each, then
    let one worker finish; count what was lost or anchored twice."""
    rng = random.Random(seed)
    started = time.monotonic()
    env = {
        **os.environ,
        **(env or {}),
        "SCEAU_BATCH_SECONDS": "0",
        "SCEAU_BATCH_SIZE": str(batch_size),
        "SCEAU_LEASE_SECONDS": "1",
        "SCEAU_POLL_INTERVAL": "0.05",
        "SCEAU_RETRY_MAX": "1",
    }
    env.pop("SCEAU_FAULT_KILL_AT", None)
    ids: list[str] = []
    per_round = [documents // kills + (1 if i < documents % kills else 0) for i in range(kills)]
    for count in per_round:
        with sessions() as s:
            items = [NewDocument(rng.randbytes(32), kind, int(now())) for _ in range(count)]
            ids += [d.id for d in submit(s, issuer, items, "fault_sigkill")]
            s.commit()
        proc = _worker(issuer, env)
        marker = f":{proc.pid}:"

        def up(marker: str = marker) -> bool:
            with sessions() as s:
                return bool(s.scalar(select(func.count()).where(WorkerBeat.holder.contains(marker))))

        _await(up, time.monotonic() + 60, "the worker to start")
        time.sleep(rng.uniform(0, max_run))  # the random moment of the power cut
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    for _ in range(5):  # the last worker finishes (leases of the dead ones expire first)

        def leases_free() -> bool:
            with sessions() as s:
                return not s.scalar(select(func.count()).where(Lease.issuer == issuer, Lease.expires_at > now()))

        _await(leases_free, time.monotonic() + 30, "the dead workers' leases to expire")
        last = _worker(issuer, env, "--once")
        if last.wait(600) != 0:
            raise RuntimeError(f"the last worker exited with code {last.returncode}")
        with sessions() as s:
            if not s.scalar(select(func.count()).where(Document.id.in_(ids), Document.status != "confirmed")):
                break
    with sessions() as s:
        docs = list(s.execute(select(Document.id, Document.status, Document.batch_id).where(Document.id.in_(ids))))
        batches = {b.root: b for b in s.scalars(select(Batch).where(Batch.issuer == issuer))}
    logs = contract.events.RootAnchored.get_logs(argument_filters={"key": key}, from_block=from_block)
    anchored = Counter("0x" + bytes(log["args"]["root"]).hex() for log in logs)
    batch_of_root = {root: b.id for root, b in batches.items()}
    twice_batches = {batch_of_root[r] for r, n in anchored.items() if n > 1 and r in batch_of_root}
    confirmed = sum(1 for d in docs if d.status == "confirmed")
    return Figures(
        documents=len(ids),
        kills=kills,
        confirmed=confirmed,
        lost=len(ids) - confirmed,
        anchored_twice=sum(1 for d in docs if d.batch_id in twice_batches),
        unknown_roots=sum(1 for r in anchored if r not in batch_of_root),
        batches=len({d.batch_id for d in docs if d.batch_id}),
        seconds=time.monotonic() - started,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=2000)
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=25)
    parser.add_argument("--database-url", default=None, help="default: a new SQLite file")
    args = parser.parse_args()

    from certifier.chain import localchain
    from certifier.chain.deployment import connect, deploy, registry_contract
    from certifier.chain.issuers import create_issuer
    from certifier.store.db import session_factory, upgrade
    from verifier.core.kinds import KINDS

    with tempfile.TemporaryDirectory(prefix="sceau-sigkill-") as tmp:
        home = Path(tmp)
        passphrase = "fault campaign"
        url = args.database_url or f"sqlite:///{home / 'sceau.sqlite'}"
        os.environ.update(
            SCEAU_HOME=str(home), SCEAU_KEY_PASSPHRASE=passphrase, SCEAU_SCRYPT_N="2048", SCEAU_DATABASE_URL=url
        )
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        node = localchain.up(port, base=home)
        os.environ["SCEAU_RPC_URL"] = node.url
        try:
            w3 = connect(node.url)
            deployment, _ = deploy(w3, home)
            record = create_issuer(w3, "Université du chaos", ("diploma",), None, passphrase, base=home)
            upgrade(url)
            sessions = session_factory(url)
            figures = campaign(
                sessions,
                record.name,
                KINDS["diploma"],
                registry_contract(w3, deployment.registry),
                record.address,
                deployment.block_number,
                documents=args.documents,
                kills=args.kills,
                seed=args.seed,
                batch_size=args.batch_size,
            )
        finally:
            localchain.down(home)
    print("\n".join(figures.lines()))
    return 0 if figures.lost == 0 and figures.anchored_twice == 0 and figures.unknown_roots == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
