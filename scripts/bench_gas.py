"""Measure the gas of Sceau's registry operations on a real anvil node and print a table.

    .venv/bin/python scripts/bench_gas.py

Figures are receipts' gasUsed (what the issuer pays), on a fresh local chain.
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eth_account import Account  # noqa: E402

from certifier import localchain  # noqa: E402
from certifier.chain.deployment import connect, deploy, registry_contract  # noqa: E402
from certifier.chain.revoking import bitmap  # noqa: E402
from certifier.chain.transactions import Sender  # noqa: E402
from certifier.config import DEV_ROOT_KEY  # noqa: E402

DIPLOMA = 1


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        proc = localchain.up(18545 + os.getpid() % 1000, base=home)
        try:
            run(proc.url, home)
        finally:
            localchain.down(home)


def run(url: str, home: Path) -> None:
    w3 = connect(url)
    deployment, _ = deploy(w3, home)
    c = registry_contract(w3, deployment.registry)
    root = Sender(w3, c, Account.from_key(DEV_ROOT_KEY))
    sent = root.send(c.functions.accreditIssuer("Bench University", "0000000B", 1 << DIPLOMA), "accredit")
    issuer_id = c.events.IssuerAccredited().process_receipt(sent.receipt)[0]["args"]["issuerId"]
    key = Account.create()
    root.transfer(key.address, 10**19, "fund")
    root.send(c.functions.addKey(issuer_id, key.address, 0, 0), "add key")
    issuer = Sender(w3, c, key)

    def anchor(count: int) -> tuple[bytes, int]:
        r = os.urandom(32)
        return r, issuer.send(c.functions.anchor(r, count, DIPLOMA), "anchor").gas_used

    rows: list[tuple[str, int, int, str]] = []
    anchor(10)  # the key's first transaction warms nothing on chain; measured separately below
    for n in (1, 100, 1_000, 100_000):
        _, gas = anchor(n)
        rows.append((f"anchor a root of {n:,} documents (accreditation check included)", n, gas, "≤ 60,000"))

    r, _ = anchor(1_000)
    gas = issuer.send(c.functions.revoke(key.address, r, 10, 1, b"\0" * 32), "revoke").gas_used
    rows.append(("revoke one document (first in its group of 64)", 1, gas, "≤ 35,000"))
    gas = issuer.send(c.functions.revoke(key.address, r, 11, 1, b"\0" * 32), "revoke").gas_used
    rows.append(("revoke one document (its group of 64 already touched)", 1, gas, "≤ 35,000"))
    gas = issuer.send(c.functions.revoke(key.address, r, 500, 2, os.urandom(32)), "revoke").gas_used
    rows.append(("revoke one document with a replacement reference", 1, gas, "≤ 35,000"))

    r, _ = anchor(100)
    offset, words = bitmap(list(range(100)))
    gas = issuer.send(c.functions.revokeMany(key.address, r, offset, words, 1), "revokeMany").gas_used
    rows.append(("revoke 100 documents of a batch of 100, one transaction", 100, gas, "≤ 1,000 / doc"))

    r, _ = anchor(1_000)
    picked = sorted(random.Random(7).sample(range(1_000), 100))
    offset, words = bitmap(picked)
    gas = issuer.send(c.functions.revokeMany(key.address, r, offset, words, 1), "revokeMany").gas_used
    rows.append(("revoke 100 scattered documents of a batch of 1,000", 100, gas, "—"))

    r, _ = anchor(10_000)
    picked = sorted(random.Random(8).sample(range(10_000), 100))
    offset, words = bitmap(picked)
    gas = issuer.send(c.functions.revokeMany(key.address, r, offset, words, 1), "revokeMany").gas_used
    rows.append(("revoke 100 scattered documents of a batch of 10,000", 100, gas, "—"))

    print(f"{'operation':66} {'gas/tx':>10} {'gas/doc':>10}  target")
    for what, docs, gas, target in rows:
        print(f"{what:66} {gas:>10,} {gas / docs:>10,.1f}  {target}")


if __name__ == "__main__":
    main()
