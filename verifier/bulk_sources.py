"""Where the documents of a bulk verification come from: a folder, a ZIP, a CSV list, or the files
of an HTTP request, each document paired with its receipt (NAME and NAME.receipt.json).

Folders and CSV lists are bounded from the file system before anything is read, and their
documents are read only when the pipeline reaches them (verifier/bulk.py reads them a chunk at a
time), so a 100,000-document folder is verified in bounded memory. ZIPs and uploads arrive whole
in memory and are bounded before they are inflated or kept."""

from __future__ import annotations

import csv
import io
import os
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import overload

from verifier import limits
from verifier.core.errors import DocumentError, LimitExceeded
from verifier.core.receipt import MAX_RECEIPT_BYTES

CHUNK = 1024 * 1024  # bytes inflated at a time from a ZIP entry, counted as they come
ENTRIES_PER_ITEM = 4  # ZIP entries allowed per document: itself, its receipt, folders
RECEIPT_SUFFIX = ".receipt.json"


@dataclass(frozen=True, slots=True)
class Item:
    """One document to verify: its bytes or its path (read when the pipeline reaches it), and its
    receipt's bytes or path; no receipt for a certified PDF, which carries its own."""

    name: str
    data: bytes | Path
    receipt: bytes | Path | None

    def load(self) -> tuple[bytes, bytes | None]:
        """The document's and the receipt's bytes (a receipt file read no further than a receipt
        may be long, so that a huge file named .receipt.json costs nothing). OSError when unreadable."""
        data = self.data.read_bytes() if isinstance(self.data, Path) else self.data
        if isinstance(self.receipt, Path):
            with self.receipt.open("rb") as f:
                return data, f.read(MAX_RECEIPT_BYTES + 1)
        return data, self.receipt


def _pair(entries: dict[str, bytes]) -> list[Item]:
    """Documents and their receipts (NAME and NAME.receipt.json); certified PDFs stand alone.
    LimitExceeded past SCEAU_MAX_BULK_ITEMS documents or SCEAU_MAX_BULK_EXPANDED_BYTES bytes."""
    bounds = limits.current()
    _check_expanded(sum(len(data) for data in entries.values()))
    items: list[Item] = []
    for name in sorted(entries):
        if name.endswith(RECEIPT_SUFFIX):
            continue
        if len(items) >= bounds.max_bulk_items:
            raise _too_many_items()
        items.append(Item(name, entries[name], entries.get(name + RECEIPT_SUFFIX)))
    return items


def items_from_entries(entries: Iterable[tuple[str, bytes]]) -> list[Item]:
    """Uploaded files (documents and NAME.receipt.json), bounded as a ZIP's are."""
    return _pair(_unique(entries, "upload"))


def _unique(entries: Iterable[tuple[str, bytes]], what: str) -> dict[str, bytes]:
    """Entries by name; DocumentError for a name given twice. Kept, one would be verified and
    reported under the name while the other is what a viewer shows (a ZIP's first entry of a name
    in one tool, its last in another): a forgery beside a genuine file reported "valid"."""
    out: dict[str, bytes] = {}
    for name, data in entries:
        if name in out:
            raise DocumentError(f"two files named {name[:200]!r} in the {what}: each name must be given once")
        out[name] = data
    return out


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
    documents = [p for p in paths if not p.name.endswith(RECEIPT_SUFFIX)]
    if len(documents) > limits.current().max_bulk_items:
        raise _too_many_items()
    _check_expanded(sum(p.stat().st_size for p in paths))


class FolderItems(Sequence[Item]):
    """The documents of a folder, each made into an `Item` only when the pipeline reaches it: a
    sorted list of names is all that is held (a few dozen bytes a document, where Paths and Items
    for 100,000 documents would take tens of MiB)."""

    def __init__(self, folder: Path, names: list[str], with_receipt: bytearray) -> None:
        self._folder, self._names, self._with_receipt = folder, names, with_receipt

    def __len__(self) -> int:
        return len(self._names)

    @overload
    def __getitem__(self, index: int) -> Item: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Item]: ...

    def __getitem__(self, index: int | slice) -> Item | Sequence[Item]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        name = self._names[index]
        receipt = self._folder / (name + RECEIPT_SUFFIX) if self._with_receipt[index] else None
        return Item(name, self._folder / name, receipt)


def items_from_dir(folder: Path) -> FolderItems:
    """Every file under `folder` (sorted by relative path, as a report lists them), paired with
    NAME.receipt.json beside it; nothing is read yet. Bounded as `_check_files` bounds, from the
    directory entries (os.scandir: no Path object nor extra stat per file)."""
    sizes: dict[str, int] = {}
    odd: set[str] = set()
    _walk(str(folder), "", sizes, odd)
    names = sorted(name for name in sizes if not name.endswith(RECEIPT_SUFFIX))
    if len(names) > limits.current().max_bulk_items:
        raise _too_many_items()
    _check_expanded(sum(sizes.values()))
    # a NAME.receipt.json that is there but no regular file (a folder, a dangling link) is kept:
    # reading it fails and the document gets an error, as `sceau verify NAME` gives, instead of
    # being verified as if it had no receipt (a certified PDF would then use the one it carries)
    with_receipt = bytearray(name + RECEIPT_SUFFIX in sizes or name + RECEIPT_SUFFIX in odd for name in names)
    return FolderItems(folder, names, with_receipt)


def _walk(top: str, prefix: str, sizes: dict[str, int], odd: set[str]) -> None:
    """Relative name → size of every regular file under `top`, as rglob listed them: a symbolic
    link to a file counts, one to a folder is not entered (no loop). Names of receipts that are
    there but are not regular files go to `odd`."""
    with os.scandir(top) as entries:
        for entry in entries:
            name = prefix + entry.name
            if entry.is_dir(follow_symlinks=False):
                if name.endswith(RECEIPT_SUFFIX):
                    odd.add(name)
                _walk(entry.path, name + "/", sizes, odd)
            elif entry.is_file():
                sizes[name] = entry.stat().st_size
            elif name.endswith(RECEIPT_SUFFIX):
                odd.add(name)


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
            _unique(((info.filename, b"") for info in infos), "archive")  # before inflating anything
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
    items = []
    for row in rows:
        doc = base / row["file"]
        if not doc.is_file():
            raise DocumentError(f"{path}: {row['file']}: no such file")
        if row.get("receipt"):  # named: used even if missing, so that its absence is an error line
            items.append(Item(row["file"], doc, base / row["receipt"]))
        else:
            beside = doc.with_name(doc.name + RECEIPT_SUFFIX)
            items.append(Item(row["file"], doc, beside if beside.exists() or beside.is_symlink() else None))
    _check_files([item.data for item in items if isinstance(item.data, Path)])
    return items


def collect(source: Path) -> Sequence[Item]:
    """The documents of a folder, a .zip or a .csv list; DocumentError for anything else."""
    if source.is_dir():
        return items_from_dir(source)
    if not source.exists():
        raise DocumentError(f"{source}: no such file or directory")
    if source.suffix.lower() == ".zip":
        return items_from_zip(source)
    if source.suffix.lower() == ".csv":
        return items_from_csv(source)
    raise DocumentError(f"{source}: give a directory, a .zip or a .csv")
