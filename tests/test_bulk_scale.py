"""Bulk verification at scale, driven as an employer drives it: a cohort of hundreds of documents in
one Merkle root (and a small second root), one of them revoked, checked with `sceau verify --bulk`
through a proxy that counts what reaches the node.

- the revoked document is reported revoked (with its reason), its hundreds of siblings valid;
- the chain is read once per root for the anchor (`checkDocument`) and once per other document for
  its revocation (`revocationOf`), in a batch, not a `checkDocument` per document;
- the report streams: verdicts come out a chunk at a time, before the later documents are even read;
- a chain that fails leaves every document "could not decide", never valid."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest

from tests.conftest import Chain, run_sceau, unique, verifier_for, write_docs
from tests.test_chain_coalescing import CountingProxy
from verifier import bulk
from verifier.abi import registry_functions
from verifier.core.errors import DocumentError

COHORT = 300
ROOT = Path(__file__).resolve().parents[1]
REVOKED = 137


@pytest.fixture(scope="module")
def cohort(chain: Chain, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """COHORT documents anchored as one root, document REVOKED revoked for fraud, and three
    documents of another root, all in one folder with their receipts."""
    folder = tmp_path_factory.mktemp("cohort")
    name, identifier = unique("Université de la Cohorte"), unique("COH").replace(" ", "-")
    created = run_sceau("issuer", "create", name, "--kind", "diploma", "--id", identifier)
    assert created.returncode == 0, created.stderr
    docs = write_docs(folder, COHORT, "cohort")
    issued = run_sceau("issue", "--issuer", name, *docs)
    assert issued.returncode == 0, issued.stderr
    others = write_docs(folder, 3, "other")
    assert run_sceau("issue", "--issuer", name, *others).returncode == 0
    revoked = run_sceau("revoke", "--issuer", name, "--reason", "fraud", docs[REVOKED])
    assert revoked.returncode == 0, revoked.stderr
    return folder


def expected(name: str) -> str:
    return "revoked" if name == f"cohort-{REVOKED}.pdf" else "valid"


def test_a_revoked_document_in_a_large_root_is_revoked_and_its_siblings_valid(
    chain: Chain, cohort: Path, tmp_path: Path
) -> None:
    proxy = CountingProxy(chain.url)
    try:
        report = tmp_path / "report.csv"
        out = run_sceau("verify", "--bulk", cohort, "--format", "csv", "--report", report, "--rpc-url", proxy.url)
        assert out.returncode == 2, out.stderr  # the worst verdict: one document revoked
        assert f"{COHORT + 3} documents verified" in out.stderr
        rows = list(csv.DictReader(io.StringIO(report.read_text())))
        assert len(rows) == COHORT + 3
        assert {r["file"]: r["verdict"] for r in rows} == {r["file"]: expected(r["file"]) for r in rows}
        revoked = next(r for r in rows if r["verdict"] == "revoked")
        assert revoked["file"] == f"cohort-{REVOKED}.pdf" and revoked["revocation"] == "fraud"
        assert revoked["code"].startswith("revocation.")
        fns = registry_functions()
        check, revocation = ("0x" + fns[n].selector.hex() for n in ("checkDocument", "revocationOf"))
        # the anchor once per root; a revocation read for every other document, in one batch
        assert proxy.selectors.count(check) == 2
        assert proxy.selectors.count(revocation) == COHORT + 3 - 2
        assert len(proxy.calls("eth_call")) <= 3  # the batch (≤ 400 calls a request) and the issuer's read
    finally:
        proxy.close()


class Counted:
    """The documents to check, counting how many the pipeline has pulled so far."""

    def __init__(self, items: Sequence[bulk.Item]) -> None:
        self.items, self.pulled = items, 0

    def __iter__(self) -> Iterator[bulk.Item]:
        for item in self.items:
            self.pulled += 1
            yield item


def test_the_report_streams_a_chunk_at_a_time(chain: Chain, cohort: Path) -> None:
    items = bulk.collect(cohort)
    source = Counted(items)
    verifier = verifier_for(chain.url, chain.deployment)
    try:
        stream = bulk.verify_stream(iter(source), verifier, chunk=50)
        first = next(stream)
        assert first.name == "cohort-0.pdf" and first.verdict.outcome.value == "valid"
        assert source.pulled <= 100 < len(items)  # the chunk decided and the one being read, no more
        lines = [first, *stream]
    finally:
        verifier.close()
    assert source.pulled == len(items) == len(lines)
    assert [ln.name for ln in lines] == [i.name for i in items]  # in order, whatever the pipeline did
    assert {ln.name: ln.verdict.outcome.value for ln in lines} == {i.name: expected(i.name) for i in items}
    blocks = {ln.verdict.block["number"] for ln in lines if ln.verdict.block}
    assert len(blocks) >= 1 and max(blocks) <= chain.w3.eth.block_number  # each verdict states its block


def test_the_cli_writes_the_report_as_verdicts_come(
    chain: Chain, cohort: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`write_report` puts each document's line out (and flushes every FLUSH_EVERY documents)
    while later documents are still being verified."""
    from verifier import bulk_reports

    monkeypatch.setattr(bulk_reports, "FLUSH_EVERY", 10)
    items = bulk.collect(cohort)
    source = Counted(items)

    class Watched(io.StringIO):
        """A report file noting how many documents had been pulled at each flush."""

        def __init__(self) -> None:
            super().__init__()
            self.seen: list[int] = []

        def flush(self) -> None:
            self.seen.append(source.pulled)

    out = Watched()
    verifier = verifier_for(chain.url, chain.deployment)
    try:
        tally = bulk.write_report(bulk.verify_stream(iter(source), verifier, chunk=50), "json", out)
    finally:
        verifier.close()
    assert out.seen[0] < len(items)  # the first lines were out before the last documents were read
    report = json.loads(out.getvalue())
    assert report["summary"] == {"documents": COHORT + 3, "valid": COHORT + 2, "revoked": 1}
    assert tally.exit_code == 2 and tally.documents == COHORT + 3


def test_a_chain_failing_on_every_call_leaves_every_document_undecided(chain: Chain, cohort: Path) -> None:
    proxy = CountingProxy(chain.url)
    proxy.failing = {"eth_call"}
    verifier = verifier_for(proxy.url, chain.deployment)
    try:
        lines = bulk.verify_items(bulk.collect(cohort)[:120], verifier)
    finally:
        verifier.close()
        proxy.close()
    assert {ln.verdict.outcome.value for ln in lines} == {"error"}
    assert all(ln.verdict.error_code and ln.verdict.error_code.startswith("error.") for ln in lines)


def test_chunks_shared_between_processes_give_the_same_report_in_order(chain: Chain, cohort: Path) -> None:
    """`sceau verify --bulk` shares chunks between processes (one per core, or --jobs N), which
    send back their rows: the same report, in the folder's order, each verdict stating its block,
    as one process gives, in every format."""
    items = bulk.collect(cohort)
    verifier = verifier_for(chain.url, chain.deployment)
    try:
        alone = bulk.verify_items(items, verifier)
        assert {ln.name: ln.verdict.outcome.value for ln in alone} == {i.name: expected(i.name) for i in items}
        for fmt, lang in (("csv", "en"), ("lines", "en"), ("html", "fr"), ("json", "en")):
            one, shared = io.StringIO(), io.StringIO()
            tally_one = bulk.write_report(alone, fmt, one, lang)
            with patch.object(bulk, "CHUNK_ITEMS", 40):  # several chunks for two processes
                tally_shared = bulk.write_report(
                    bulk.report_stream(items, verifier, fmt, lang, processes=2), fmt, shared, lang
                )
            assert tally_shared == tally_one and tally_shared.documents == len(items)
            if fmt == "json":  # the same verdicts, each on its block (the time of the check differs)
                documents = json.loads(shared.getvalue())["documents"]
                assert [d["file"] for d in documents] == [i.name for i in items]
                assert [d["verdict"] for d in documents] == [ln.verdict.outcome.value for ln in alone]
                assert all(d["block"]["number"] > 0 for d in documents)
            else:
                assert shared.getvalue() == one.getvalue()
    finally:
        verifier.close()
    cli = run_sceau("verify", "--bulk", cohort, "--jobs", "2")  # one chunk: one process does it all
    assert cli.returncode == 2 and cli.stdout.count("\n") == COHORT + 3


class FailingItems(Sequence[bulk.Item]):
    """A folder's items, whose item `at` fails when a lane reaches it: by an exception, or by the
    lane's process exiting with `exit_code` (killed, out of memory)."""

    def __init__(
        self, items: Sequence[bulk.Item], at: int, exit_code: int | None = None, error: Exception | None = None
    ) -> None:
        self.items, self.at, self.exit_code = items, at, exit_code
        self.error = error or RuntimeError("the disk went away")

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: Any) -> Any:
        if index == self.at:
            if self.exit_code is not None:
                os._exit(self.exit_code)
            raise self.error
        return self.items[index]


@pytest.mark.parametrize(
    ("exit_code", "error", "said"),
    [
        (None, None, "an unexpected error stopped it \\(--jobs 1 shows where\\)"),
        (None, DocumentError("the folder was unmounted: mount it again"), "the folder was unmounted: mount it again"),
        (3, None, "exit code 3"),
    ],
)
def test_a_lane_that_fails_or_dies_stops_the_report_with_the_reason(
    chain: Chain, cohort: Path, exit_code: int | None, error: Exception | None, said: str
) -> None:
    """A process verifying part of a bulk check that fails, or dies, stops the report with a
    LaneFailed that says why, in words for a person (our errors' own; no exception names): never
    a report that stops short, or hangs, as if it were whole."""
    from verifier.bulk_processes import LaneFailed

    items = FailingItems(bulk.collect(cohort), at=50, exit_code=exit_code, error=error)  # 2nd chunk: lane 1
    verifier = verifier_for(chain.url, chain.deployment)
    got: list[Any] = []
    try:
        with patch.object(bulk, "CHUNK_ITEMS", 40), pytest.raises(LaneFailed, match=said) as raised:
            got.extend(bulk.report_stream(items, verifier, "csv", processes=2))
    finally:
        verifier.close()
    assert "Error" not in str(raised.value)  # neither RuntimeError nor DocumentError
    assert len(got) == 40  # the first chunk's rows, from lane 0; nothing after the failure


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_lanes_do_not_outlive_a_killed_parent(chain: Chain, cohort: Path, tmp_path: Path) -> None:
    """`sceau verify --bulk` killed (subprocess.run(timeout=…) kills with SIGKILL, `kill PID`
    sends SIGTERM to the parent only): its lanes must not stay behind, blocked forever on a full
    queue nobody will ever read, each holding the whole item list."""
    script = tmp_path / "run.py"
    script.write_text(
        "import sys\n"
        "from verifier import bulk\n"
        "bulk.CHUNK_ITEMS = 20  # several chunks per lane with the 303-document cohort\n"
        "from verifier.cli import make_verify_command\n"
        f"make_verify_command()(['--bulk', {str(cohort)!r}, '--format', 'json', '--jobs', '2'])\n"
    )
    # stdout is a pipe never read: the parent blocks writing the report, as behind a slow consumer
    proc = subprocess.Popen(
        [sys.executable, str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=Path(__file__).resolve().parents[1],
        env=os.environ,
    )
    lanes: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while len(lanes) < 2 and time.monotonic() < deadline:
            lanes = _children(proc.pid)
            time.sleep(0.1)
        assert len(lanes) == 2, "the lanes never started"
        time.sleep(4)  # the lanes verify their chunks and fill their queues
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        time.sleep(5)
        left = [pid for pid in lanes if _alive(pid)]
        assert not left, f"lanes {left} still running 5 s after their parent died (blocked on their queues)"
    finally:
        for pid in lanes:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()
        assert proc.stdout is not None
        proc.stdout.close()
