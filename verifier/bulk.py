"""Bulk verification: hundreds of documents at once, with the chain reads batched (one JSON-RPC
batch of eth_calls for all anchors, one for all issuers) and every verdict computed by the same
`verify_document` as a single verification."""

from __future__ import annotations

import csv
import html
import io
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from .abi import checksummed
from .anchors import TrustAnchor
from .chain import ChainReader, _status
from .errors import DocumentError, InvalidReceipt, SceauError
from .hashing import sha256_bytes
from .receipt import MAX_RECEIPT_BYTES, Receipt
from .service import Verifier
from .verdict import Outcome, Verdict, error_verdict
from .verify import verify_document

MAX_ITEMS = 100_000


@dataclass(frozen=True)
class Item:
    name: str
    data: bytes
    receipt: bytes | None  # None: a certified PDF carries its own


@dataclass(frozen=True)
class Line:
    name: str
    verdict: Verdict


def _prefetch(reader: ChainReader, receipts: Sequence[Receipt]) -> dict[tuple[str, bytes, int, bytes], Any]:
    """The registry's answers for every receipt, in JSON-RPC batches (one eth_call each), and the
    issuers they name put in the reader's cache."""
    keys = list(
        {(checksummed(r.anchor.issuer_key), r.anchor.root, r.document.index, r.leaf, r.proof) for r in receipts}
    )
    calls = [
        reader.call_request("checkDocument", key, root, index, leaf, list(proof))
        for key, root, index, leaf, proof in keys
    ]
    check = reader.functions["checkDocument"]
    found: dict[tuple[str, bytes, int, bytes], Any] = {}
    for (key, root, index, leaf, _), raw in zip(keys, reader.rpc_batch(calls), strict=True):
        try:
            proof_valid, status = check.decode(raw)
            found[(key, root, index, leaf)] = (bool(proof_valid), _status(status))
        except (SceauError, ValueError, TypeError):
            continue  # that document's verdict asks again, and reports the failure itself
    ids = sorted({s.issuer_id for _, s in found.values() if s.anchored})
    reader.prefetch_issuers(ids)
    return found


def verify_items(items: Sequence[Item], verifier: Verifier) -> list[Line]:
    """Every item's verdict, in order; chain reads batched per trusted registry (an untrusted one is
    never read)."""
    parsed: list[tuple[Item, bytes | None, Receipt | None, Verdict | None]] = []
    for item in items:
        try:
            digest = sha256_bytes(item.data)
        except DocumentError as exc:
            parsed.append((item, None, None, error_verdict(f"{item.name}: {exc}")))
            continue
        if item.receipt is None:
            parsed.append((item, digest, None, None))
            continue
        try:
            parsed.append((item, digest, Receipt.from_json(item.receipt), None))
        except InvalidReceipt as exc:
            parsed.append((item, digest, None, error_verdict(f"malformed receipt: {exc}", digest.hex())))
    by_anchor: dict[TrustAnchor, list[Receipt]] = {}
    for _, _, receipt, _ in parsed:
        if receipt is not None:
            anchor = verifier.anchors.find(receipt.chain_id, receipt.registry)
            if anchor is not None:
                by_anchor.setdefault(anchor, []).append(receipt)
    statuses: dict[tuple[str, bytes, int, bytes], Any] = {}
    for anchor, receipts in by_anchor.items():
        try:
            statuses.update(_prefetch(verifier.reader(anchor), receipts))
        except SceauError:
            verifier.unpin(anchor)  # each verdict below then reports the chain's failure itself
    lines = []
    for item, sha, receipt, early in parsed:
        if early is not None:
            verdict = early
        elif receipt is not None and sha is not None:
            key = (checksummed(receipt.anchor.issuer_key), receipt.anchor.root, receipt.document.index, receipt.leaf)
            verdict = verify_document(sha, receipt, verifier, status=statuses.get(key))
        else:
            verdict = verifier.verify_certified_pdf(item.data) or error_verdict(
                f"{item.name}: no receipt, and not a certified PDF", sha.hex() if sha else None
            )
        lines.append(Line(item.name, verdict))
    return lines


# ---------------------------------------------------------------- collecting documents


def _pair(entries: dict[str, bytes]) -> list[Item]:
    """Documents and their receipts (NAME and NAME.receipt.json); certified PDFs stand alone."""
    items = []
    for name in sorted(entries):
        if name.endswith(".receipt.json"):
            continue
        items.append(Item(name, entries[name], entries.get(name + ".receipt.json")))
    return items


def items_from_dir(folder: Path) -> list[Item]:
    entries = {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
    return _pair(entries)


def items_from_zip(data: bytes | Path) -> list[Item]:
    source = io.BytesIO(data) if isinstance(data, bytes) else data
    try:
        with zipfile.ZipFile(source) as zf:
            entries: dict[str, bytes] = {}
            total = 0
            for info in zf.infolist():
                if info.is_dir():
                    continue
                if ".." in PurePosixPath(info.filename).parts or info.filename.startswith("/"):
                    raise DocumentError(f"archive entry {info.filename!r} refused: path traversal")
                total += info.file_size
                if total > 4 * 1024**3 or len(entries) > MAX_ITEMS:
                    raise DocumentError("the archive is too large to verify in bulk")
                entries[info.filename] = zf.read(info)
    except zipfile.BadZipFile as exc:
        raise DocumentError(f"not a ZIP file ({exc})") from None
    return _pair(entries)


def items_from_csv(path: Path) -> list[Item]:
    """A CSV with columns `file` and (optional) `receipt`, paths relative to the CSV."""
    base = path.parent
    with path.open(newline="", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    if not rows or "file" not in rows[0]:
        raise DocumentError(f"{path}: the CSV needs a 'file' column (and optionally 'receipt')")
    items = []
    for row in rows:
        doc = base / row["file"]
        if not doc.is_file():
            raise DocumentError(f"{path}: {row['file']}: no such file")
        receipt_path = base / row["receipt"] if row.get("receipt") else doc.with_name(doc.name + ".receipt.json")
        receipt = receipt_path.read_bytes()[: MAX_RECEIPT_BYTES + 1] if receipt_path.is_file() else None
        items.append(Item(row["file"], doc.read_bytes(), receipt))
    return items


def collect(source: Path) -> list[Item]:
    if source.is_dir():
        return items_from_dir(source)
    if not source.exists():
        raise DocumentError(f"{source}: no such file or directory")
    if source.suffix.lower() == ".zip":
        return items_from_zip(source)
    if source.suffix.lower() == ".csv":
        return items_from_csv(source)
    raise DocumentError(f"{source}: give a directory, a .zip or a .csv")


# ---------------------------------------------------------------- reports


def report_rows(lines: Iterable[Line]) -> list[dict[str, Any]]:
    rows = []
    for line in lines:
        v = line.verdict
        failed = [c for c in v.checks if c.ok is False]
        rows.append(
            {
                "file": line.name,
                "verdict": v.outcome.value,
                "issuer": (v.issuer or {}).get("name"),
                "kind": v.document.get("kind"),
                "anchoredAt": (v.anchor or {}).get("anchoredAt"),
                "revocation": (v.revocation or {}).get("reason"),
                "sha256": v.sha256,
                "detail": v.error or (failed[0].detail if failed else ""),
            }
        )
    return rows


def report_json(lines: Sequence[Line]) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for line in lines:
        counts[line.verdict.outcome.value] = counts.get(line.verdict.outcome.value, 0) + 1
    return {
        "summary": {"documents": len(lines), **counts},
        "documents": [{"file": ln.name, **ln.verdict.to_dict()} for ln in lines],
    }


def report_csv(lines: Sequence[Line]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(
        out, fieldnames=["file", "verdict", "issuer", "kind", "anchoredAt", "revocation", "sha256", "detail"]
    )
    writer.writeheader()
    writer.writerows(report_rows(lines))
    return out.getvalue()


_ROW = '<tr class="{cls}"><td>{file}</td><td>{verdict}</td><td>{issuer}</td><td>{kind}</td><td>{detail}</td></tr>'


def report_html(lines: Sequence[Line]) -> str:
    rows = report_rows(lines)
    valid = sum(1 for r in rows if r["verdict"] == "valid")
    body = "\n".join(
        _ROW.format(
            cls="ok" if r["verdict"] == "valid" else "ko",
            **{k: html.escape(str(r[k] or "")) for k in ("file", "verdict", "issuer", "kind", "detail")},
        )
        for r in rows
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sceau bulk verification report</title>
<style>body{{font:14px system-ui,sans-serif;margin:2rem}}table{{border-collapse:collapse;width:100%}}
td,th{{border:1px solid #999;padding:.3rem .5rem;text-align:left;vertical-align:top}}
tr.ko td:nth-child(2){{color:#a4161a;font-weight:700}}tr.ok td:nth-child(2){{color:#0b6b2b;font-weight:700}}
@media print{{body{{margin:0}}}}</style></head><body>
<h1>Bulk verification report / Rapport de vérification</h1>
<p>{valid} of {len(rows)} documents valid / {valid} documents valides sur {len(rows)}.</p>
<table><thead><tr><th scope="col">File</th><th scope="col">Verdict</th><th scope="col">Issuer</th>
<th scope="col">Kind</th><th scope="col">Detail</th></tr></thead>
<tbody>
{body}
</tbody></table></body></html>
"""


def exit_code(lines: Sequence[Line]) -> int:
    """0 when every document is valid; otherwise the most serious single-verification code."""
    order = {
        Outcome.VALID: 0,
        Outcome.EXPIRED: 1,
        Outcome.NOT_YET_VALID: 1,
        Outcome.VALID_REVOCATION_UNCHECKED: 1,
        Outcome.SEAL_ONLY: 1,
        Outcome.REVOKED: 2,
        Outcome.TAMPERED: 3,
        Outcome.UNKNOWN: 3,
        Outcome.UNTRUSTED_ISSUER: 3,
        Outcome.ERROR: 4,
    }
    worst = max((ln.verdict.outcome for ln in lines), key=lambda o: order[o], default=Outcome.VALID)
    return worst.exit_code
