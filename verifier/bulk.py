"""Bulk verification: hundreds of documents at once, with the chain reads batched (one JSON-RPC
batch of eth_calls for all anchors, one for all issuers) and every verdict computed by the same
`verify_document` as a single verification."""

from __future__ import annotations

import csv
import html
import io
import logging
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from verifier import limits
from verifier.abi import checksummed
from verifier.chain import ChainReader, _status
from verifier.core.anchors import TrustAnchor
from verifier.core.errors import DocumentError, InvalidReceipt, LimitExceeded, SceauError
from verifier.core.hashing import sha256_bytes
from verifier.core.receipt import MAX_RECEIPT_BYTES, Receipt
from verifier.core.verdict import Check, Outcome, Verdict, error_verdict
from verifier.service import Verifier
from verifier.verify import verify_document

log = logging.getLogger(__name__)
CHUNK = 1024 * 1024  # bytes inflated at a time from a ZIP entry, counted as they come
ENTRIES_PER_ITEM = 4  # ZIP entries allowed per document: itself, its receipt, folders


@dataclass(frozen=True)
class Item:
    name: str
    data: bytes
    receipt: bytes | None  # None: a certified PDF carries its own


@dataclass(frozen=True)
class Line:
    name: str
    verdict: Verdict


def _prefetch(reader: ChainReader, receipts: Sequence[Receipt]) -> dict[tuple[Any, ...], Any]:
    """The registry's answers for every receipt, in JSON-RPC batches (one eth_call each), and the
    issuers they name put in the reader's cache."""
    keys = list(
        {(checksummed(r.anchor.issuer_key), r.anchor.root, r.document.index, r.leaf, r.proof) for r in receipts}
    )
    at = hex(reader.head(0.0).number)  # one block for the whole report (and for each verdict's statement)
    calls = [
        reader.call_request("checkDocument", key, root, index, leaf, list(proof), block=at)
        for key, root, index, leaf, proof in keys
    ]
    check = reader.functions["checkDocument"]
    found: dict[tuple[Any, ...], Any] = {}
    for (key, root, index, leaf, proof), raw in zip(keys, reader.rpc_batch(calls), strict=True):
        try:
            proof_valid, status = check.decode(raw)
            found[(key, root, index, leaf, proof)] = (bool(proof_valid), _status(status))
        except (SceauError, ValueError, TypeError):
            continue  # that document's verdict asks again, and reports the failure itself
    ids = sorted({s.issuer_id for _, s in found.values() if s.anchored})
    reader.prefetch_issuers(ids)
    return found


def verify_items(items: Sequence[Item], verifier: Verifier) -> list[Line]:
    """Every item's verdict, in order; chain reads batched per trusted registry (an untrusted one is
    never read). One bad item is that item's error verdict, never a failed report; the PDFs' decoded
    content counts against one budget for the whole run (SCEAU_MAX_BULK_DECODED_BYTES)."""
    cap = limits.current().max_bulk_decoded_bytes
    with limits.budget("SCEAU_MAX_BULK_DECODED_BYTES", cap, "the decoded content of this bulk verification's PDFs"):
        return _verify_items(items, verifier)


def _verify_items(items: Sequence[Item], verifier: Verifier) -> list[Line]:
    parsed: list[tuple[Item, bytes | None, Receipt | None, Verdict | None]] = []
    for item in items:
        try:
            digest = sha256_bytes(item.data)
        except DocumentError as exc:
            parsed.append((item, None, None, error_verdict(f"{item.name}: {exc}", code="error.document")))
            continue
        if item.receipt is None:
            parsed.append((item, digest, None, None))
            continue
        try:
            parsed.append((item, digest, Receipt.from_json(item.receipt), None))
        except InvalidReceipt as exc:
            parsed.append(
                (
                    item,
                    digest,
                    None,
                    error_verdict(f"malformed receipt: {exc}", digest.hex(), code="error.malformed_receipt"),
                )
            )
    by_anchor: dict[TrustAnchor, list[Receipt]] = {}
    for _, _, receipt, _ in parsed:
        if receipt is not None:
            anchor = verifier.anchors.find(receipt.chain_id, receipt.registry)
            if anchor is not None:
                by_anchor.setdefault(anchor, []).append(receipt)
    # answers are keyed by their registry too: a receipt naming one trusted registry must never get
    # the answer another trusted registry gave for the same (key, root, index)
    statuses: dict[tuple[Any, ...], Any] = {}
    for anchor, receipts in by_anchor.items():
        try:
            for found, answer in _prefetch(verifier.reader(anchor), receipts).items():
                statuses[(anchor, *found)] = answer
        except SceauError:
            verifier.unpin(anchor)  # each verdict below then reports the chain's failure itself
    lines = []
    for item, sha, receipt, early in parsed:
        if early is not None:
            verdict = early
        else:
            verdict = _verify_one(item, sha, receipt, verifier, statuses)
        lines.append(Line(item.name, verdict))
    return lines


def _verify_one(
    item: Item, sha: bytes | None, receipt: Receipt | None, verifier: Verifier, statuses: dict[Any, Any]
) -> Verdict:
    digest = sha.hex() if sha else None
    try:
        if receipt is not None and sha is not None:
            key = (
                verifier.anchors.find(receipt.chain_id, receipt.registry),
                checksummed(receipt.anchor.issuer_key),
                receipt.anchor.root,
                receipt.document.index,
                receipt.leaf,
                receipt.proof,
            )
            return verify_document(sha, receipt, verifier, status=statuses.get(key))
        return verifier.verify_certified_pdf(item.data) or error_verdict(
            f"{item.name}: no receipt, and not a certified PDF", digest, code="error.no_receipt"
        )
    except LimitExceeded as exc:
        return error_verdict(f"{item.name}: {exc}", digest, code="error.document")
    except SceauError as exc:
        return error_verdict(f"{item.name}: {exc}", digest, code="error.other")
    except Exception as exc:  # one document's unforeseen failure must not sink the others' report
        log.exception("bulk verification of %r failed", item.name)
        return error_verdict(f"{item.name}: could not be verified ({exc.__class__.__name__})", digest)


# ---------------------------------------------------------------- collecting documents


def _pair(entries: dict[str, bytes]) -> list[Item]:
    """Documents and their receipts (NAME and NAME.receipt.json); certified PDFs stand alone.
    LimitExceeded past SCEAU_MAX_BULK_ITEMS documents or SCEAU_MAX_BULK_EXPANDED_BYTES bytes."""
    bounds = limits.current()
    _check_expanded(sum(len(data) for data in entries.values()))
    items: list[Item] = []
    for name in sorted(entries):
        if name.endswith(".receipt.json"):
            continue
        if len(items) >= bounds.max_bulk_items:
            raise _too_many_items()
        items.append(Item(name, entries[name], entries.get(name + ".receipt.json")))
    return items


def items_from_entries(entries: Iterable[tuple[str, bytes]]) -> list[Item]:
    """Uploaded files (documents and NAME.receipt.json), bounded as a ZIP's are."""
    return _pair(dict(entries))


def _too_many_items() -> LimitExceeded:
    cap = limits.current().max_bulk_items
    return limits.refuse("the number of documents", "SCEAU_MAX_BULK_ITEMS", cap, "documents; split the batch")


def _check_expanded(total: int) -> None:
    if total > limits.current().max_bulk_expanded_bytes:
        raise _expanded_refusal()


def _expanded_refusal() -> LimitExceeded:
    cap = limits.current().max_bulk_expanded_bytes
    return limits.refuse("the documents, uncompressed,", "SCEAU_MAX_BULK_EXPANDED_BYTES", cap)


def _check_files(paths: Sequence[Path]) -> None:
    """The CLI's folders and CSV lists: sizes from the file system, before anything is read."""
    documents = [p for p in paths if not p.name.endswith(".receipt.json")]
    if len(documents) > limits.current().max_bulk_items:
        raise _too_many_items()
    _check_expanded(sum(p.stat().st_size for p in paths))


def items_from_dir(folder: Path) -> list[Item]:
    files = [p for p in sorted(folder.rglob("*")) if p.is_file()]
    _check_files(files)
    return _pair({str(p.relative_to(folder)): p.read_bytes() for p in files})


def items_from_zip(data: bytes | Path) -> list[Item]:
    """The documents of a ZIP, refused fast when it holds too many entries or too many bytes: the
    entries are counted before the central directory is parsed, the sizes the headers declare are
    summed before anything is inflated, and the bytes actually inflated are counted as they come,
    so that a header lying about its entry's size does not get past the bound either."""
    bounds = limits.current()
    if isinstance(data, Path):
        if data.stat().st_size > 2 * bounds.max_bulk_expanded_bytes:
            raise limits.refuse(f"{data.name}", "SCEAU_MAX_BULK_EXPANDED_BYTES", bounds.max_bulk_expanded_bytes)
        data = data.read_bytes()
    max_entries = ENTRIES_PER_ITEM * bounds.max_bulk_items
    if data.count(b"PK\x01\x02") > max_entries:  # every central directory entry starts so: an upper bound
        raise limits.refuse("the archive's entries", "SCEAU_MAX_BULK_ITEMS", bounds.max_bulk_items, "documents")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = [info for info in zf.infolist() if not info.is_dir()]
            for info in infos:
                if ".." in PurePosixPath(info.filename).parts or info.filename.startswith("/"):
                    raise DocumentError(f"archive entry {info.filename!r} refused: path traversal")
            _check_expanded(sum(info.file_size for info in infos))
            left = bounds.max_bulk_expanded_bytes
            entries: dict[str, bytes] = {}
            for info in infos:
                content = _inflate(zf, info, left)
                left -= len(content)
                entries[info.filename] = content
    except zipfile.BadZipFile as exc:
        raise DocumentError(f"not a ZIP file ({exc})") from None
    except (zipfile.LargeZipFile, NotImplementedError, RuntimeError, EOFError, OSError, ValueError) as exc:
        raise DocumentError(f"the ZIP archive cannot be read ({exc})") from None
    return _pair(entries)


def _inflate(zf: zipfile.ZipFile, info: zipfile.ZipInfo, left: int) -> bytes:
    """An entry's bytes, stopping as soon as they exceed `left`."""
    out = bytearray()
    with zf.open(info) as stream:
        while chunk := stream.read(min(CHUNK, left - len(out) + 1)):
            out += chunk
            if len(out) > left:
                raise _expanded_refusal()
    return bytes(out)


def items_from_csv(path: Path) -> list[Item]:
    """A CSV with columns `file` and (optional) `receipt`, paths relative to the CSV."""
    base = path.parent
    with path.open(newline="", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    if not rows or "file" not in rows[0]:
        raise DocumentError(f"{path}: the CSV needs a 'file' column (and optionally 'receipt')")
    pairs = []
    for row in rows:
        doc = base / row["file"]
        if not doc.is_file():
            raise DocumentError(f"{path}: {row['file']}: no such file")
        receipt_path = base / row["receipt"] if row.get("receipt") else doc.with_name(doc.name + ".receipt.json")
        pairs.append((row["file"], doc, receipt_path if receipt_path.is_file() else None))
    _check_files([doc for _, doc, _ in pairs])
    items = []
    for name, doc, found in pairs:
        receipt = found.read_bytes()[: MAX_RECEIPT_BYTES + 1] if found is not None else None
        items.append(Item(name, doc.read_bytes(), receipt))
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


def iso_utc(ts: int | None) -> str | None:
    """Unix seconds as an ISO 8601 UTC date-time (2026-07-01T09:30:00Z), as reports show them."""
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if ts else None


def _said(v: Verdict) -> Check | None:
    """The check a person should read about `v`: the first that failed, else the validity period."""
    failed = [c for c in v.checks if c.ok is False]
    if failed:
        return failed[0]
    return next((c for c in v.checks if c.id == "expiry"), None)


def report_rows(lines: Iterable[Line], lang: str = "en") -> list[dict[str, Any]]:
    """One row per document: codes for machines (verdict, code, revocation reason), words in `lang`
    for people (result, detail), ISO 8601 UTC dates. Technical error details stay in the JSON report."""
    from verifier.core.messages import message
    from verifier.i18n import KIND_NOUNS, VERDICTS

    rows = []
    for line in lines:
        v = line.verdict
        said = None if v.outcome is Outcome.ERROR else _said(v)
        if v.outcome is Outcome.ERROR:
            code, detail = v.error_code or "error.other", message(v.error_code or "error.other", {}, lang)
        else:
            code, detail = (said.code, said.text(lang)) if said else ("", "")
        kind = v.document.get("kind")
        rows.append(
            {
                "file": line.name,
                "verdict": v.outcome.value,
                "result": VERDICTS[v.outcome.value][lang],
                "issuer": (v.issuer or {}).get("name"),
                "kind": KIND_NOUNS.get(kind, {}).get(lang, kind) if kind else None,
                "anchoredAt": iso_utc((v.anchor or {}).get("anchoredAt")),
                "revocation": (v.revocation or {}).get("reason"),
                "sha256": v.sha256,
                "code": code,
                "detail": detail,
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


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralised(value: Any) -> Any:
    """A cell a spreadsheet shows as text: one starting like a formula (a file named
    ``=HYPERLINK(…)``) gets a leading apostrophe, as OWASP advises against CSV injection."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def request_language(request: Any) -> str:
    """The HTML report's language for an HTTP request: ``?lang=``, the ``lang`` cookie, Accept-Language."""
    from verifier.i18n import pick_language

    return pick_language(request.args.get("lang"), request.cookies.get("lang"), request.accept_languages)


COLUMNS = ("file", "verdict", "result", "issuer", "kind", "anchoredAt", "revocation", "sha256", "code", "detail")


def report_csv(lines: Sequence[Line], lang: str = "en") -> str:
    """A spreadsheet's report: headers and words in `lang` (English by default), the `verdict`
    and `code` columns machine-readable codes whatever the language, dates ISO 8601 UTC."""
    from verifier.i18n import REPORT

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([REPORT[c][lang] for c in COLUMNS])
    for row in report_rows(lines, lang):
        writer.writerow([neutralised(row[c]) for c in COLUMNS])
    return out.getvalue()


_ROW = (
    '<tr class="{cls}" data-verdict="{verdict}"><td>{file}</td><td>{result}</td><td>{issuer}</td><td>{kind}</td>'
    "<td>{anchored}</td><td>{detail}</td></tr>"
)


def report_html(lines: Sequence[Line], lang: str = "en") -> str:
    """The printable report, all in `lang` (fr or en)."""
    from verifier.core.messages import day_of
    from verifier.i18n import REPORT

    words = {key: html.escape(REPORT[key][lang]) for key in REPORT}
    rows = report_rows(lines, lang)
    valid = sum(1 for r in rows if r["verdict"] == "valid")
    body = "\n".join(
        _ROW.format(
            cls="ok" if line.verdict.outcome is Outcome.VALID else "ko",
            verdict=line.verdict.outcome.value,
            anchored=day_of(at, lang) if (at := (line.verdict.anchor or {}).get("anchoredAt")) else "",
            **{k: html.escape(str(neutralised(r[k]) or "")) for k in ("file", "result", "issuer", "kind", "detail")},
        )
        for line, r in zip(lines, rows, strict=True)
    )
    head = (
        "".join(f'<th scope="col">{words[k].capitalize()}</th>' for k in ("file", "verdict", "issuer", "kind"))
        + f'<th scope="col">{words["anchored"]}</th><th scope="col">{words["detail"].capitalize()}</th>'
    )
    summary = html.escape(REPORT["summary"][lang].format(valid=valid, total=len(rows)))
    return f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{words["title"]} · Sceau</title>
<style>body{{font:14px system-ui,sans-serif;margin:2rem}}table{{border-collapse:collapse;width:100%}}
td,th{{border:1px solid #999;padding:.3rem .5rem;text-align:left;vertical-align:top}}
tr.ko td:nth-child(2){{color:#a4161a;font-weight:700}}tr.ok td:nth-child(2){{color:#0b6b2b;font-weight:700}}
@media print{{body{{margin:0}}}}</style></head><body>
<h1>{words["title"]}</h1>
<p>{summary}</p>
<table><thead><tr>{head}</tr></thead>
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
