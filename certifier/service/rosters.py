"""Cohort issuance: a CSV roster (one row per graduate) and a ZIP of the PDFs it names.

Everything is checked before anything is written, and every problem is reported at once: the CSV's
shape, each row's fields, each file's presence, and the ZIP's safety (no path traversal, no links,
no zip bomb: entry count, total size and compression ratio are bounded, and sizes are enforced
while decompressing, by the bytes actually read, not taken from the headers).

What a roster holds (rows, files) is content: its problems are 422s (``Problems.reject``); only the
form around it (missing parts, unknown fields, a malformed kind or date) gets 400. `issue_roster`
is the one operation, shared by the API and the console.
"""

from __future__ import annotations

import csv
import hashlib
import io
import stat
import uuid
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO

from sqlalchemy.orm import Session

from certifier.service.validation import Problems, parse_date, parse_kind, parse_text
from certifier.store.db import Batch, Document
from certifier.store.documents import CredentialBuilder, NewDocument, batch_documents, submit
from certifier.store.uploads import commit_file, private_file
from verifier.core.errors import InvalidFields
from verifier.core.hashing import CHUNK

COLUMNS = ("reference", "family_name", "given_names", "degree", "date", "file")
OPTIONAL = ("valid_until",)
MAX_ROWS = 100_000
#: Every entry must be named by a row, so an archive never needs more entries than rows (plus
#: the folders holding them).
MAX_ENTRIES = 2 * MAX_ROWS
MAX_TOTAL_BYTES = 4 * 1024**3
#: A PDF never deflates 100:1; a bomb does. Checked per entry above RATIO_FLOOR bytes, and for
#: the whole archive: everything it expands to, counted as it is read, stays under
#: MAX_RATIO × its size (plus RATIO_FLOOR), so many small entries cannot add up to a bomb.
MAX_RATIO = 100
RATIO_FLOOR = 64 * 1024
MAX_CSV_BYTES = 32 * 1024**2
MAX_FILENAME = 300


@dataclass(frozen=True)
class RosterRow:
    line: int
    reference: str
    family_name: str
    given_names: str
    degree: str
    date: int
    valid_until: int
    file: str


def roster_fields(row: RosterRow) -> dict[str, str]:
    """The words a diploma of this row prints, bound on chain and shown by its seal (raises
    InvalidFields: parse_csv checks every row with it first)."""
    from verifier.core.fields import normalise

    return normalise(
        {
            "family_name": row.family_name,
            "given_names": row.given_names,
            "degree": row.degree,
            "date": datetime.fromtimestamp(row.date, UTC).strftime("%Y-%m-%d"),
            "number": row.reference,
        }
    )


@dataclass(frozen=True)
class RosterFile:
    row: RosterRow
    sha256: bytes
    tmp: Path


def parse_csv(data: bytes, problems: Problems) -> list[RosterRow]:
    """Every row of the roster, or its problems (each a 422: the file is well-formed as a file)."""
    found = Problems()
    rows = _parse_csv(data, found)
    problems.items.extend(found.items)
    return rows


def _parse_csv(data: bytes, problems: Problems) -> list[RosterRow]:
    if len(data) > MAX_CSV_BYTES:
        problems.add("roster", f"larger than {MAX_CSV_BYTES // 2**20} MiB")
        return []
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        problems.add("roster", f"not UTF-8 text (byte {exc.start}); save the CSV as UTF-8")
        return []
    if not text.strip():
        problems.add("roster", "the CSV is empty")
        return []
    first_line = text.splitlines()[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except csv.Error as exc:
        problems.add("roster line 1", f"malformed CSV: {exc}")
        return []
    missing = [c for c in COLUMNS if c not in header]
    unknown = [h[:40] for h in header if h not in COLUMNS + OPTIONAL]
    if missing:
        problems.add("roster header", f"missing column(s): {', '.join(missing)} (expected {', '.join(COLUMNS)})")
    if unknown:
        problems.add("roster header", f"unknown column(s): {', '.join(unknown)}")
    if len(set(header)) != len(header):
        problems.add("roster header", "a column appears twice")
    if missing or unknown:
        return []
    rows: list[RosterRow] = []
    seen_refs: dict[str, int] = {}
    seen_files: dict[str, int] = {}
    line = 1
    try:
        for values in reader:
            line = reader.line_num
            if not any(v.strip() for v in values):
                continue
            if len(rows) >= MAX_ROWS:
                problems.add("roster", f"more than {MAX_ROWS} rows")
                break
            row = _row(line, header, values, problems, seen_refs, seen_files)
            if row is not None:
                rows.append(row)
    except csv.Error as exc:
        problems.add(f"roster line {line + 1}", f"malformed CSV: {exc}")
    if not rows and not problems.items:
        problems.add("roster", "no graduates listed")
    return rows


def _row(
    line: int,
    header: list[str],
    values: list[str],
    problems: Problems,
    seen_refs: dict[str, int],
    seen_files: dict[str, int],
) -> RosterRow | None:
    where = f"roster line {line}"
    if len(values) != len(header):
        problems.add(where, f"{len(values)} fields, the header has {len(header)}")
        return None
    record = {k: v.strip() for k, v in zip(header, values, strict=True)}
    before = len(problems.items)
    for column in COLUMNS:
        if not record[column]:
            problems.add(f"{where} {column}", "required")
    issued = parse_date(record["date"], f"{where} date", problems, end_of_day=False, date_only=True)
    until = parse_date(record.get("valid_until", ""), f"{where} valid_until", problems, end_of_day=True, date_only=True)
    parse_text(record["reference"], f"{where} reference", problems)
    parse_text(record["file"], f"{where} file", problems, limit=MAX_FILENAME)
    reference, file = record["reference"][:40], record["file"][:40]
    if record["reference"] in seen_refs:
        problems.add(f"{where} reference", f"{reference!r} already on line {seen_refs[record['reference']]}")
    if record["file"] in seen_files:
        problems.add(f"{where} file", f"{file!r} already on line {seen_files[record['file']]}")
    seen_refs.setdefault(record["reference"], line)
    seen_files.setdefault(record["file"], line)
    if issued is not None and until and until <= issued:
        problems.add(f"{where} valid_until", "must be after date")
    if len(problems.items) > before or issued is None:
        return None
    row = RosterRow(
        line,
        record["reference"],
        record["family_name"],
        record["given_names"],
        record["degree"],
        issued,
        until or 0,
        record["file"],
    )
    try:
        roster_fields(row)
    except InvalidFields as exc:
        problems.add(where, str(exc))
        return None
    return row


def _unsafe(info: zipfile.ZipInfo) -> str | None:
    name = info.filename
    if "\\" in name or name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return "absolute or Windows path"
    if ".." in PurePosixPath(name).parts:
        return "path traversal ('..')"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "symbolic link"
    return None


def _size(stream: IO[bytes]) -> int:
    position = stream.tell()
    size = stream.seek(0, io.SEEK_END)
    stream.seek(position)
    return size


def read_archive(archive: IO[bytes], rows: list[RosterRow], storage: Path, problems: Problems) -> list[RosterFile]:
    """Check the ZIP and copy the files the roster names into storage (hashing them). On any
    problem (each a 422), nothing stays in storage."""
    found = Problems()
    made = _read_archive(archive, rows, storage, found)
    problems.items.extend(found.items)
    return made


def _read_archive(archive: IO[bytes], rows: list[RosterRow], storage: Path, problems: Problems) -> list[RosterFile]:
    budget = min(MAX_TOTAL_BYTES, MAX_RATIO * _size(archive) + RATIO_FLOOR)
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        problems.add("archive", f"not a ZIP file ({exc})")
        return []
    made: list[RosterFile] = []
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_ENTRIES:
            problems.add("archive", f"{len(infos)} entries; the limit is {MAX_ENTRIES}")
            return []
        declared = 0
        by_name: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            reason = _unsafe(info)
            if reason:
                problems.add(f"archive entry {info.filename[:80]!r}", f"refused: {reason}")
                continue
            if info.is_dir():
                continue
            declared += info.file_size
            if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
                problems.add(
                    f"archive entry {info.filename[:80]!r}",
                    f"refused: compression ratio {info.file_size // max(info.compress_size, 1)}:1 (a zip bomb?)",
                )
            by_name[info.filename] = info
            by_name.setdefault(PurePosixPath(info.filename).name, info)
        if declared > budget:
            problems.add("archive", f"expands to {declared} bytes; this archive's limit is {budget} (a zip bomb?)")
        named = set()
        for row in rows:
            entry = by_name.get(row.file)
            if entry is None:
                problems.add(f"roster line {row.line} file", f"{row.file[:80]!r} is not in the archive")
            else:
                named.add(entry.filename)
        for info in infos:
            if not info.is_dir() and info.filename not in named and not _unsafe(info):
                problems.add(f"archive entry {info.filename[:80]!r}", "not named in the roster")
        if problems.items:
            return []
        remaining = [budget]
        try:
            for row in rows:
                info = by_name[row.file]
                digest, tmp, size = _extract(zf, info, storage, remaining)
                made.append(RosterFile(row, digest, tmp))
                if size == 0:
                    problems.add(f"roster line {row.line} file", f"{row.file[:80]!r} is empty")
        except _TooBig as exc:
            problems.add(f"archive entry {exc.args[0][:80]!r}", f"refused: {exc.args[1]} (a zip bomb?)")
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
            problems.add("archive", f"corrupt ZIP ({exc})")
        if problems.items:
            for f in made:
                f.tmp.unlink(missing_ok=True)
            return []
    return made


class _TooBig(Exception):
    pass


def _extract(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, storage: Path, remaining: list[int]
) -> tuple[bytes, Path, int]:
    """Copy one entry to a private temporary file, counting the bytes really read against the
    entry's declared size and against what is left of the archive's budget (`remaining[0]`)."""
    tmp = storage / f".roster-{uuid.uuid4().hex}"
    digest = hashlib.sha256()
    size = 0
    try:
        with zf.open(info) as src, private_file(tmp) as out:
            while chunk := src.read(CHUNK):
                size += len(chunk)
                remaining[0] -= len(chunk)
                if size > info.file_size:
                    raise _TooBig(info.filename, "larger than its header says")
                if remaining[0] < 0:
                    raise _TooBig(info.filename, "the archive expands past its limit")
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return digest.digest(), tmp, size


def issue_roster(
    session: Session,
    issuer: str,
    kinds: tuple[str, ...],
    *,
    kind: str | None,
    valid_until: str | None,
    roster: IO[bytes] | None,
    archive: IO[bytes] | None,
    storage: Path,
    actor: str,
    problems: Problems | None = None,
    credentials: CredentialBuilder | None = None,
) -> tuple[Batch, list[Document]]:
    """Check a whole cohort, then submit it as one batch and commit; files move into storage only
    after the commit. Raises Invalid with every problem (and `problems` already found by the
    caller, e.g. unknown form fields), writing nothing. With `credentials`, every document also
    gets its Verifiable Credential in the batch (CREDENTIAL.md)."""
    problems = problems or Problems()
    if roster is None:
        problems.add("roster", "required (the CSV)")
    if archive is None:
        problems.add("archive", "required (the ZIP of PDFs)")
    kind_code = parse_kind(kind, "kind", problems, kinds)
    until = parse_date(valid_until, "validUntil", problems, end_of_day=True, date_only=True)
    rows = parse_csv(roster.read(MAX_CSV_BYTES + 1), problems) if roster is not None else []
    files = read_archive(archive, rows, storage, problems) if archive is not None and rows else []
    if problems.items:
        for f in files:
            f.tmp.unlink(missing_ok=True)
        problems.raise_if_any()
    assert kind_code is not None
    items = [
        NewDocument(
            f.sha256,
            kind_code,
            f.row.date,
            f.row.valid_until or until or 0,
            f.row.reference,
            {"familyName": f.row.family_name, "givenNames": f.row.given_names, "degree": f.row.degree},
            f.row.file,
            roster_fields(f.row),
            credentials is not None,
        )
        for f in files
    ]
    for item in items:
        if item.valid_until and item.valid_until <= item.valid_from:
            problems.reject("validUntil", f"must be after every row's date ({item.reference} is dated later)")
            break
    if problems.items:
        for f in files:
            f.tmp.unlink(missing_ok=True)
        problems.raise_if_any()
    try:
        docs = submit(session, issuer, items, actor=actor)
        batch = batch_documents(session, issuer, docs, actor=actor, credentials=credentials)
        session.commit()
    except BaseException:
        session.rollback()
        for f in files:
            f.tmp.unlink(missing_ok=True)
        raise
    for f in files:
        commit_file(f.tmp, storage, f.sha256)
    return batch, docs
