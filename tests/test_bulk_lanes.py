"""The lanes of a bulk check (verifier/bulk_processes.py) and the CLI around them, attacked: one
budget for the whole run's decoded PDF content, a lane's last chunk racing the parent's look at
it, and a --report cut short by a failure (removed when it is a file, never when it is a device).
From a red team of the lanes; the killed-parent case is in test_bulk_scale.py (it needs its cohort)."""

from __future__ import annotations

import io
import os
import queue
import shutil
import stat
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest

from tests.conftest import Chain, issue_certified_pdf, verifier_for
from verifier import bulk, limits
from verifier.bulk_processes import LaneFailed
from verifier.bulk_reports import Rendered
from verifier.core.verdict import Outcome

COPIES = 60


def test_lanes_spend_one_decoded_content_budget_as_one_process_does(
    chain: Chain, sceau: Any, issuer: str, tmp_path: Path
) -> None:
    """SCEAU_MAX_BULK_DECODED_BYTES bounds the whole run, however many lanes share it: a folder of
    certified PDFs that fits it is all valid with two lanes as with one process (a share per lane
    of the bound, as first built, failed some: lanes never get equal work; and on 16 cores a 1 GiB
    bound left 64 MiB a lane, under what one PDF may take)."""
    pdf = issue_certified_pdf(sceau, issuer, tmp_path, "Diplome de Master - Red Team")
    folder = tmp_path / "bulk"
    folder.mkdir()
    for i in range(COPIES):
        shutil.copy(pdf, folder / f"copy-{i:03}.pdf")
    verifier = verifier_for(chain.url, chain.deployment)
    try:
        with limits.budget("probe", 1 << 40, "probe") as probe:  # what one PDF decodes
            assert verifier.verify_certified_pdf(pdf.read_bytes()).outcome.value == "valid"  # type: ignore[union-attr]
        one_pdf = (1 << 40) - probe.left
        assert one_pdf > 0
        bound = replace(limits.current(), max_bulk_decoded_bytes=int(one_pdf * COPIES * 1.05))
        items = bulk.collect(folder)
        reports = {}
        with limits.applied(bound), patch.object(bulk, "CHUNK_ITEMS", 20):  # 3 chunks: lane 0 gets two
            for processes in (1, 2):
                out = io.StringIO()
                bulk.write_report(bulk.report_stream(items, verifier, "lines", processes=processes), "lines", out)
                reports[processes] = out.getvalue()
    finally:
        verifier.close()
    assert reports[1].count("valid ") == COPIES  # one process: the whole folder fits the bound
    assert reports[2] == reports[1], "two lanes report errors for documents one process finds valid"


class _Dead:
    """A lane's process that has exited (normally: after putting its last chunk)."""

    exitcode = 0

    def is_alive(self) -> bool:
        return False


class _LateQueue:
    """A lane's queue whose last chunk reaches the pipe just after the parent's get timed out."""

    def __init__(self) -> None:
        self.calls = 0

    def get(self, timeout: float | None = None) -> object:
        self.calls += 1
        if self.calls == 1:
            raise queue.Empty  # the poll expired ...
        return (["valid"], ["row\n"])  # ... while the lane wrote its last chunk and exited

    def get_nowait(self) -> object:
        return self.get()


def test_a_chunk_sent_just_before_its_lane_exits_is_not_lost() -> None:
    """`_next_chunk` waits with `get(timeout)`, then looks whether the lane lives: a lane whose last
    chunk lands between the two (it exits right after putting it) has its chunk taken, not the
    whole report failed with LaneFailed."""
    from verifier.bulk_processes import _next_chunk

    assert _next_chunk(_Dead(), _LateQueue()) == (["valid"], ["row\n"])  # type: ignore[arg-type]


def _cut_short(*args: Any, **kwargs: Any) -> Iterator[Rendered]:
    """A bulk check whose second lane dies after the first rows (as LaneFailed says)."""
    yield Rendered(Outcome.VALID, "✔ valid            a.pdf\n")
    raise LaneFailed("a process verifying part of the documents stopped (exit code -9)")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.pdf").write_bytes(b"%PDF-1.7 a")
    return tmp_path / "docs"


def _run(folder: Path, report: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from verifier.cli import _verify_bulk

    monkeypatch.setattr(bulk, "report_stream", _cut_short)
    with pytest.raises(SystemExit) as exited:
        _verify_bulk(folder, None, report, None, 2)
    assert exited.value.code == 4


@pytest.mark.skipif(os.geteuid() != 0, reason="making a device node needs root (as `sceau` often runs in containers)")
def test_a_report_cut_short_never_removes_a_device(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--report /dev/null` (or /dev/stdout) run as root: a lane dying, or Ctrl-C, must not
    remove the device node. Here a copy of /dev/null's node."""
    null = tmp_path / "null"
    os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    _run(folder, null, monkeypatch)
    assert null.exists(), "the failed bulk check deleted the device node given as --report"


def test_a_report_cut_short_is_removed_behind_a_symbolic_link(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--report latest.txt, a link to reports/2026-07-01.txt: the partial report it points to is
    removed, not left looking like a whole one."""
    (tmp_path / "reports").mkdir()
    target = tmp_path / "reports" / "2026-07-01.txt"
    link = tmp_path / "latest.txt"
    link.symlink_to(target)
    _run(folder, link, monkeypatch)
    assert not target.exists() or target.read_text() == "", f"a cut-short report survives at {target}"
