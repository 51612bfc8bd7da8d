"""Bulk verification across processes: parsing receipts, folding Merkle proofs, building verdicts
and rendering the report's rows are Python work that holds the GIL, so past one core they need
processes (reading and SHA-256 need only the threads of verifier/bulk.py).

Each worker process verifies whole chunks with its own `Verifier` (its own readers, which prove
the endpoint's chain again before their first read) under the parent's bounds, and sends back
each document's piece of the report, already rendered (a verdict costs ten times more to send
than its row of text). The items reach the workers once, when they start (inherited through
fork): a chunk is asked for by its place in them. The parent keeps a few chunks in flight, and
writes the pieces in order. For the CLI: a web worker never forks."""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, replace

from verifier import limits
from verifier.bulk_reports import Rendered, render
from verifier.bulk_sources import Item
from verifier.core.anchors import TrustAnchors
from verifier.core.verdict import Outcome
from verifier.service import Verifier

AHEAD = 2  # chunks in flight per process: one being verified, one waiting, so no process idles


@dataclass
class _Worker:
    """What a worker process holds, made once when it starts."""

    items: Sequence[Item]
    verifier: Verifier
    bounds: limits.Limits
    fmt: str
    lang: str


_worker: _Worker | None = None


def render_across(
    items: Sequence[Item], verifier: Verifier, fmt: str, lang: str, *, chunk: int, processes: int
) -> Iterator[Rendered]:
    """Every item's piece of the report in `fmt`, in order, chunks verified and rendered by
    `processes` worker processes. The bound on the PDFs' decoded content
    (SCEAU_MAX_BULK_DECODED_BYTES) is shared out between them."""
    bounds = limits.current()
    share = replace(bounds, max_bulk_decoded_bytes=max(1, bounds.max_bulk_decoded_bytes // processes))
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")  # fork: no re-import
    starts = iter(range(0, len(items), chunk))
    with ProcessPoolExecutor(
        processes,
        mp_context=context,
        initializer=_start,
        initargs=(items, verifier.anchors, verifier.rpc_url, verifier.freshness, share, fmt, lang),
    ) as pool:
        pending: deque[Future[tuple[list[str], list[str]]]] = deque()
        while True:
            while len(pending) < AHEAD * processes and (start := next(starts, None)) is not None:
                pending.append(pool.submit(_render_chunk, start, min(start + chunk, len(items))))
            if not pending:
                return
            outcomes, pieces = pending.popleft().result()
            for outcome, piece in zip(outcomes, pieces, strict=True):
                yield Rendered(Outcome(outcome), piece)


def _start(
    items: Sequence[Item],
    anchors: TrustAnchors,
    rpc_url: str,
    freshness: float,
    bounds: limits.Limits,
    fmt: str,
    lang: str,
) -> None:
    """A worker's items, verifier and bounds, made once per process."""
    global _worker
    _worker = _Worker(items, Verifier(anchors, rpc_url, freshness=freshness), bounds, fmt, lang)


def _render_chunk(start: int, stop: int) -> tuple[list[str], list[str]]:
    """The outcomes and report pieces of items[start:stop]."""
    from verifier.bulk import verify_stream

    w = _worker
    assert w is not None, "the pool's initializer runs first"
    outcomes, pieces = [], []
    with limits.applied(w.bounds):
        for line in verify_stream(w.items[start:stop], w.verifier, chunk=stop - start):
            rendered = render(line, w.fmt, w.lang)
            outcomes.append(rendered.outcome.value)
            pieces.append(rendered.piece)
    return outcomes, pieces
