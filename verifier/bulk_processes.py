"""Bulk verification across processes: parsing receipts, folding Merkle proofs and building verdicts
are Python work that holds the GIL, so past one core they need processes (reading and SHA-256 need
only the threads of verifier/bulk.py).

Each worker process verifies whole chunks with its own `Verifier` (its own readers, which prove
the endpoint's chain again before their first read) under the parent's bounds; the parent keeps a
few chunks in flight and yields the verdicts in order. For the CLI: a web worker never forks."""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import replace
from itertools import islice

from verifier import limits
from verifier.bulk_reports import Line
from verifier.bulk_sources import Item
from verifier.core.anchors import TrustAnchors
from verifier.service import Verifier

AHEAD = 2  # chunks in flight per process: one being verified, one waiting, so no process idles

_worker: Verifier | None = None
_bounds: limits.Limits | None = None


def verify_across(items: Iterable[Item], verifier: Verifier, *, chunk: int, processes: int) -> Iterator[Line]:
    """Every item's verdict, in order, chunks verified by `processes` worker processes. The bound
    on the PDFs' decoded content (SCEAU_MAX_BULK_DECODED_BYTES) is shared out between them."""
    bounds = limits.current()
    share = replace(bounds, max_bulk_decoded_bytes=max(1, bounds.max_bulk_decoded_bytes // processes))
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")  # fork: no re-import
    source = iter(items)
    with ProcessPoolExecutor(
        processes,
        mp_context=context,
        initializer=_start,
        initargs=(verifier.anchors, verifier.rpc_url, verifier.freshness, share),
    ) as pool:
        pending: deque[Future[list[Line]]] = deque()
        while True:
            while len(pending) < AHEAD * processes and (batch := list(islice(source, chunk))):
                pending.append(pool.submit(_verify_chunk, batch))
            if not pending:
                return
            yield from pending.popleft().result()


def _start(anchors: TrustAnchors, rpc_url: str, freshness: float, bounds: limits.Limits) -> None:
    """A worker's verifier and bounds, made once per process."""
    global _worker, _bounds
    _worker = Verifier(anchors, rpc_url, freshness=freshness)
    _bounds = bounds


def _verify_chunk(items: list[Item]) -> list[Line]:
    from verifier.bulk import verify_stream

    assert _worker is not None and _bounds is not None, "the pool's initializer runs first"
    with limits.applied(_bounds):
        return list(verify_stream(items, _worker, chunk=len(items)))
