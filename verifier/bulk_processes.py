"""Bulk verification across processes: parsing receipts, folding Merkle proofs, building verdicts
and rendering the report's rows are Python work that holds the GIL, so past one core they need
processes (reading and SHA-256 need only the threads of verifier/bulk.py).

The chunks are dealt out in turn to `processes` lanes: lane i verifies chunks i, i + P, i + 2P…
as one `verify_stream` of its own (so its chain reads overlap its next chunk's reading and
hashing, as in one process), with its own `Verifier` (its own readers, which prove the endpoint's
chain again before their first read), under the parent's bounds. The items reach each lane once,
when it starts (inherited through fork). A lane sends back each chunk's pieces of the report,
already rendered (a verdict costs ten times more to send than its row of text), through a queue
of AHEAD chunks: a lane that gets ahead of the parent waits, so memory stays bounded whatever the
number of documents. The parent takes the chunks in order, lane after lane. For the CLI: a web
worker never forks."""

from __future__ import annotations

import multiprocessing
import os
import queue
from collections.abc import Iterator, Sequence
from itertools import islice
from multiprocessing.context import ForkContext, SpawnContext
from multiprocessing.process import BaseProcess
from typing import Any

from verifier import limits
from verifier.bulk_reports import Rendered, render
from verifier.bulk_sources import Item
from verifier.core.anchors import TrustAnchors
from verifier.core.errors import SceauError
from verifier.core.verdict import Outcome
from verifier.service import Verifier

AHEAD = 2  # chunks a lane may have rendered before the parent takes them
POLL_SECONDS = 1.0  # how often the parent, waiting for a chunk, checks that its lane is still alive


class LaneFailed(SceauError):
    """A process verifying part of a bulk check failed or died: the report stops there."""


def render_across(
    items: Sequence[Item], verifier: Verifier, fmt: str, lang: str, *, chunk: int, processes: int
) -> Iterator[Rendered]:
    """Every item's piece of the report in `fmt`, in order, verified and rendered by `processes`
    lanes. The bound on the PDFs' decoded content (SCEAU_MAX_BULK_DECODED_BYTES) is the whole
    run's: the lanes spend one budget, in shared memory."""
    from verifier.bulk import DECODED_SETTING, DECODED_WHAT

    bounds = limits.current()
    methods = multiprocessing.get_all_start_methods()
    context: ForkContext | SpawnContext = (  # fork: no re-import, and the items are not copied
        multiprocessing.get_context("fork") if "fork" in methods else multiprocessing.get_context("spawn")
    )
    chunks = -(-len(items) // chunk)
    decoded = limits.SharedBudget(DECODED_SETTING, bounds.max_bulk_decoded_bytes, DECODED_WHAT, context)
    lanes: list[tuple[BaseProcess, Any]] = []
    try:
        for lane in range(processes):
            sent: Any = context.Queue(AHEAD)
            started: BaseProcess = context.Process(
                target=_lane,
                args=(items, lane, processes, chunk, sent, verifier.anchors, verifier.rpc_url, verifier.freshness),
                kwargs={"bounds": bounds, "decoded": decoded, "fmt": fmt, "lang": lang, "parent": os.getpid()},
                name=f"sceau-bulk-{lane}",
                daemon=True,
            )
            started.start()
            lanes.append((started, sent))
        for k in range(chunks):
            process, sent = lanes[k % processes]
            outcomes, pieces = _next_chunk(process, sent)
            for outcome, piece in zip(outcomes, pieces, strict=True):
                yield Rendered(Outcome(outcome), piece)
    finally:
        for process, sent in lanes:
            if process.is_alive():
                process.terminate()
            process.join()
            sent.close()


def _next_chunk(process: BaseProcess, sent: Any) -> tuple[list[str], list[str]]:
    """The lane's next chunk (outcomes, pieces); LaneFailed when the lane reported a failure or died."""
    while True:
        try:
            message = sent.get(timeout=POLL_SECONDS)
            break
        except queue.Empty:
            if process.is_alive():
                continue
        try:  # gone: its last chunk may have come between the wait and the look
            message = sent.get(timeout=POLL_SECONDS)
            break
        except queue.Empty:
            raise LaneFailed(
                f"a process verifying part of the documents stopped (exit code {process.exitcode}): "
                "the report is incomplete; run again, or with --jobs 1"
            ) from None
    if isinstance(message, str):
        raise LaneFailed(f"a process verifying part of the documents failed: {message}")
    outcomes, pieces = message
    return outcomes, pieces


def _lane(
    items: Sequence[Item],
    lane: int,
    lanes: int,
    chunk: int,
    sent: Any,
    anchors: TrustAnchors,
    rpc_url: str,
    freshness: float,
    *,
    bounds: limits.Limits,
    decoded: limits.Budget,
    fmt: str,
    lang: str,
    parent: int,
) -> None:
    """A lane's process: chunks lane, lane + lanes… of `items`, verified and rendered, each put
    on `sent` as (outcomes, pieces); a failure is put as its description."""
    from verifier.bulk import verify_stream

    try:
        verifier = Verifier(anchors, rpc_url, freshness=freshness)
        starts = range(lane * chunk, len(items), lanes * chunk)
        mine = [range(start, min(start + chunk, len(items))) for start in starts]  # this lane's chunks
        with limits.applied(bounds):
            lines = verify_stream((items[i] for part in mine for i in part), verifier, chunk=chunk, shared=decoded)
            for part in mine:
                rendered = [render(line, fmt, lang) for line in islice(lines, len(part))]
                _put(sent, ([r.outcome.value for r in rendered], [r.piece for r in rendered]), parent)
    except _ParentGone:
        sent.cancel_join_thread()  # what is still unsent would keep the process from exiting
    except BaseException as exc:  # said to the parent, which stops the report with it
        # a person reads it: our errors say what to do; anything else is a fault of ours, which
        # --jobs 1 shows where (no exception names on the screen here)
        said = str(exc) if isinstance(exc, SceauError) else "an unexpected error stopped it (--jobs 1 shows where)"
        try:
            _put(sent, said, parent)
        except _ParentGone:
            sent.cancel_join_thread()


class _ParentGone(Exception):
    """The parent of a lane is gone (killed): nobody will take its chunks."""


def _put(sent: Any, message: object, parent: int) -> None:
    """Put `message` on the lane's queue, waiting while it is full, as long as the parent (process
    `parent`) lives: a parent killed (SIGKILL, a timeout's kill) runs no cleanup, and its lanes
    would otherwise wait on a full queue for ever, each holding its items. (A lane whose parent
    died has another parent process.)"""
    while True:
        try:
            sent.put(message, timeout=POLL_SECONDS)
            return
        except queue.Full:
            if os.getppid() != parent:
                raise _ParentGone from None
