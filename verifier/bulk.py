"""Bulk verification: thousands of documents at once, every verdict computed by the same
`verify_document` as a single verification, at the speed of hashing.

The documents go through a pipeline a chunk at a time (bounded memory, whatever their number):
read and SHA-256 on every core (file reads and hashlib release the GIL), receipts parsed, then
the chain read for the whole chunk in one JSON-RPC batch per trusted registry, in a background
thread while the next chunk is read and hashed. Per (registry, issuer key, root), the batch holds
one `checkDocument` (the anchor, the key's and issuer's accreditation, and the registry's own
check of one proof) and one `revocationOf` per other document of that root: the anchor is read
once per root, not once per document. Verdicts come out in order as soon as their chunk is
decided (`verify_stream`), so reports stream.

Trust rules kept from single verification: an untrusted registry is never read; answers are keyed
by trust anchor, key, root and index, so no receipt gets another registry's answer; a sibling's
answer is used only after its own proof folded to the root (step 2, which `verify_document` makes
before it looks at any answer); when the registry disagrees with the local fold of the one proof
it checks, or any call fails, the documents concerned are read one by one as single verifications
read them, and report their own failure."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from itertools import islice
from typing import Any

from verifier import limits
from verifier.bulk_reports import (
    COLUMNS,
    Line,
    Rendered,
    Tally,
    exit_code,
    iso_utc,
    neutralised,
    report_chunks,
    report_csv,
    report_html,
    report_json,
    report_row,
    report_rows,
    request_language,
    write_report,
)
from verifier.bulk_sources import Item, collect, items_from_csv, items_from_dir, items_from_entries, items_from_zip
from verifier.chain import MAX_REASON_CODE, ChainReader, DocumentStatus, Head
from verifier.core.anchors import TrustAnchor
from verifier.core.errors import ChainError, DocumentError, InvalidReceipt, LimitExceeded, SceauError
from verifier.core.hashing import checksum_address, sha256_bytes
from verifier.core.merkle import verify_proof
from verifier.core.receipt import Receipt
from verifier.core.verdict import Verdict, error_verdict
from verifier.service import Verifier
from verifier.verify import verify_document

__all__ = [
    "COLUMNS",
    "Item",
    "Line",
    "Rendered",
    "Tally",
    "collect",
    "exit_code",
    "items_from_csv",
    "items_from_dir",
    "items_from_entries",
    "items_from_zip",
    "iso_utc",
    "neutralised",
    "report_csv",
    "report_html",
    "report_chunks",
    "report_json",
    "report_row",
    "report_rows",
    "report_stream",
    "request_language",
    "verify_items",
    "verify_stream",
    "write_report",
]

log = logging.getLogger(__name__)
CHUNK_ITEMS = 1024  # documents in memory at once per pipeline stage (two stages: ~2,000 documents)
HASH_TASK = 64  # documents read and hashed per task of the thread pool (a task per file costs more than it saves)
#: (trust anchor, issuer key, root, index): the answers of one chunk's reads
AnswerKey = tuple[TrustAnchor, str, bytes, int]
Answers = dict[AnswerKey, tuple[tuple[bool, DocumentStatus], Head]]


@dataclass(frozen=True, slots=True)
class _Prepared:
    """A document read, hashed and its receipt parsed: what deciding its verdict needs."""

    item: Item
    digest: bytes | None
    receipt: Receipt | None
    early: Verdict | None  # decided without the chain (unreadable, empty, malformed receipt)
    data: bytes | None  # kept only for a document without receipt (a certified PDF carries its own)


def verify_items(items: Iterable[Item], verifier: Verifier) -> list[Line]:
    """Every item's verdict, in order (see `verify_stream`, which yields them as they come)."""
    return list(verify_stream(items, verifier))


def report_stream(
    items: Sequence[Item], verifier: Verifier, fmt: str, lang: str = "en", *, processes: int = 1
) -> Iterator[Line | Rendered]:
    """What `write_report` needs to report on every item in `fmt`, in order: verdicts from
    `verify_stream`, or with `processes` > 1 the report's pieces, rendered by that many worker
    processes (verifier/bulk_processes.py): for the CLI, never inside a web worker."""
    if processes > 1:
        from verifier.bulk_processes import render_across

        yield from render_across(items, verifier, fmt, lang, chunk=CHUNK_ITEMS, processes=processes)
    else:
        yield from verify_stream(items, verifier)


#: The bound on a bulk check's decoded PDF content, and what its error calls it.
DECODED_SETTING, DECODED_WHAT = "SCEAU_MAX_BULK_DECODED_BYTES", "the decoded content of this bulk verification's PDFs"


def verify_stream(
    items: Iterable[Item], verifier: Verifier, *, chunk: int = CHUNK_ITEMS, shared: limits.Budget | None = None
) -> Iterator[Line]:
    """Every item's verdict, in order, each chunk's as soon as it is decided; items are pulled
    from `items` a chunk at a time. One bad item is that item's error verdict, never a failed
    report; the PDFs' decoded content counts against one budget for the whole run
    (SCEAU_MAX_BULK_DECODED_BYTES), or against `shared`, the budget of a run shared between
    processes (verifier/bulk_processes.py)."""
    cap = limits.current().max_bulk_decoded_bytes
    source = iter(items)
    with (
        limits.budget(DECODED_SETTING, cap, DECODED_WHAT, shared),
        ThreadPoolExecutor(max(2, 2 * (os.cpu_count() or 1)), thread_name_prefix="sceau-hash") as hashing,
        ThreadPoolExecutor(1, thread_name_prefix="sceau-read") as reading,
    ):
        pending: tuple[list[_Prepared], Future[Answers]] | None = None
        while batch := list(islice(source, chunk)):
            slices = [batch[i : i + HASH_TASK] for i in range(0, len(batch), HASH_TASK)]
            hashed = [h for part in hashing.map(_hash_all, slices) for h in part]
            prepared = [_parse(item, *h) for item, h in zip(batch, hashed, strict=True)]
            answers = reading.submit(_read_chain, prepared, verifier)  # while the previous chunk is decided
            if pending is not None:
                yield from _decide(*pending, verifier)
            pending = prepared, answers
        if pending is not None:
            yield from _decide(*pending, verifier)


def _hash_all(items: Sequence[Item]) -> list[tuple[bytes | Exception, bytes, bytes | None]]:
    return [_hash(item) for item in items]


def _hash(item: Item) -> tuple[bytes | Exception, bytes, bytes | None]:
    """Read `item` and SHA-256 it, in a worker thread (both release the GIL); a failure is returned."""
    try:
        data, receipt = item.load()
    except OSError as exc:
        return DocumentError(f"cannot be read ({exc.strerror or exc.__class__.__name__})"), b"", None
    try:
        return sha256_bytes(data), data, receipt
    except DocumentError as exc:
        return exc, data, receipt


def _parse(item: Item, digest: bytes | Exception, data: bytes, receipt: bytes | None) -> _Prepared:
    if isinstance(digest, Exception):
        return _Prepared(item, None, None, error_verdict(f"{item.name}: {digest}", code="error.document"), None)
    if receipt is None:
        return _Prepared(item, digest, None, None, data)
    try:
        return _Prepared(item, digest, Receipt.from_json(receipt), None, None)
    except InvalidReceipt as exc:
        early = error_verdict(f"malformed receipt: {exc}", digest.hex(), code="error.malformed_receipt")
        return _Prepared(item, digest, None, early, None)


# ---------------------------------------------------------------- the chain, once per root


def _read_chain(prepared: Sequence[_Prepared], verifier: Verifier) -> Answers:
    """The registry's answers for a chunk: per trusted registry, one JSON-RPC batch at the newest
    block, and the issuers its anchors name read into the reader's cache. A registry whose reads
    fail gives no answers (its documents are then read one by one, and report the failure)."""
    groups: dict[TrustAnchor, dict[tuple[str, bytes], list[Receipt]]] = {}
    for p in prepared:
        if p.receipt is None or p.early is not None or p.digest != p.receipt.document.sha256:
            continue  # decided without the chain, or tampered: step (1) fails before any read
        anchor = verifier.anchors.find(p.receipt.chain_id, p.receipt.registry)
        if anchor is not None:  # an untrusted registry is never read
            root = (checksum_address(p.receipt.anchor.issuer_key), p.receipt.anchor.root)
            groups.setdefault(anchor, {}).setdefault(root, []).append(p.receipt)
    answers: Answers = {}
    for anchor, roots in groups.items():
        try:
            reader = verifier.reader(anchor)
            head = reader.head(0.0)  # the newest block: a bulk check never says "unknown" from a held one
            for key, answer in _read_roots(reader, head, roots).items():
                answers[(anchor, *key)] = answer, head
        except SceauError:
            verifier.unpin(anchor)  # each verdict then reports the chain's failure itself
    return answers


def _read_roots(
    reader: ChainReader, head: Head, roots: dict[tuple[str, bytes], list[Receipt]]
) -> dict[tuple[str, bytes, int], tuple[bool, DocumentStatus]]:
    """One batch for every root of a registry: for each, `checkDocument` of a document whose proof
    folds locally, and `revocationOf` for each other index."""
    at = hex(head.number)
    calls: list[tuple[str, list[Any]]] = []
    plan: list[tuple[str, bytes, int, list[int]]] = []
    for (key, root), receipts in roots.items():
        checked = next((r for r in receipts if verify_proof(root, r.leaf, r.proof)), None)
        if checked is None:
            continue  # every proof is broken: step (2) decides without the chain
        index = checked.document.index
        others = sorted({r.document.index for r in receipts} - {index})
        calls.append(
            reader.call_request("checkDocument", key, root, index, checked.leaf, list(checked.proof), block=at)
        )
        calls += [reader.call_request("revocationOf", key, root, i, block=at) for i in others]
        plan.append((key, root, index, others))
    raws = iter(reader.rpc_batch_each(calls))
    found: dict[tuple[str, bytes, int], tuple[bool, DocumentStatus]] = {}
    for key, root, index, others in plan:
        codes = [next(raws) for _ in range(len(others) + 1)]
        try:
            proof_valid, state = _decoded_check(reader, codes[0])
        except SceauError:
            continue  # read one by one, each reporting the failure
        if not proof_valid:
            continue  # the registry disagrees with the local fold: let each document be read alone
        found[(key, root, index)] = True, state
        for i, raw in zip(others, codes[1:], strict=True):
            try:
                found[(key, root, i)] = True, _sibling(state, i, _decoded_reason(reader, raw))
            except SceauError:
                continue
    ids = sorted({s.issuer_id for _, s in found.values() if s.anchored})
    reader.prefetch_issuers([i for i in ids if not reader.has_issuer(i)])
    return found


def _decoded_check(reader: ChainReader, raw: Any) -> tuple[bool, DocumentStatus]:
    if isinstance(raw, SceauError):
        raise raw
    return reader.decode_check(raw)


def _decoded_reason(reader: ChainReader, raw: Any) -> int:
    if isinstance(raw, SceauError):
        raise raw
    (code,) = reader.decode_answer("revocationOf", raw)
    if not 0 <= int(code) <= MAX_REASON_CODE:
        raise ChainError(f"the registry answered an impossible revocation code {code}")
    return int(code)


def _sibling(state: DocumentStatus, index: int, code: int) -> DocumentStatus:
    """What `documentStatus(key, root, index)` answers, from the root's status and the document's
    revocation code: everything but the revocation belongs to the root (AnchorRegistry.sol)."""
    if not state.anchored or index >= state.document_count:
        code = 0  # documentStatus reports no revocation there, whatever the slot holds
    return replace(state, revocation=code)


# ---------------------------------------------------------------- verdicts


def _decide(prepared: list[_Prepared], answers: Future[Answers], verifier: Verifier) -> Iterator[Line]:
    found = answers.result()
    for p in prepared:
        yield Line(p.item.name, p.early if p.early is not None else _verify_one(p, verifier, found))


def _verify_one(p: _Prepared, verifier: Verifier, found: Answers) -> Verdict:
    name, sha, receipt = p.item.name, p.digest, p.receipt
    digest = sha.hex() if sha else None
    try:
        if receipt is not None and sha is not None:
            anchor = verifier.anchors.find(receipt.chain_id, receipt.registry)
            answer = None
            if anchor is not None:
                key = (anchor, checksum_address(receipt.anchor.issuer_key), receipt.anchor.root, receipt.document.index)
                answer = found.get(key)
            status, head = answer if answer is not None else (None, None)
            return verify_document(sha, receipt, verifier, status=status, head=head)
        return verifier.verify_certified_pdf(p.data or b"") or error_verdict(
            f"{name}: no receipt, and not a certified PDF", digest, code="error.no_receipt"
        )
    except LimitExceeded as exc:
        return error_verdict(f"{name}: {exc}", digest, code="error.document")
    except SceauError as exc:
        return error_verdict(f"{name}: {exc}", digest, code="error.other")
    except Exception as exc:  # one document's unforeseen failure must not sink the others' report
        log.exception("bulk verification of %r failed", name)
        return error_verdict(f"{name}: could not be verified ({exc.__class__.__name__})", digest)
