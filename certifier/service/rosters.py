"""Cohort issuance: a CSV roster (one row per graduate) and a ZIP of the PDFs it names.

Everything is checked before anything is written, and every problem is reported at once: the CSV's
shape, each row's fields, each file's presence, and the ZIP's safety (no path traversal, no links,
no zip bomb: entry count, total size and compression ratio are bounded, and sizes are enforced
while decompressing, by the bytes actually read, not taken from the headers).

What a roster holds (rows, files) is content: its problems are 422s (``Problems.reject``), each a
code and where it is (a line, an entry) that the console says in the registrar's language; only
the form around it (missing parts, unknown fields, a malformed kind or date) gets 400. `issue_roster`
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

from certifier.service.problems import ARCHIVE, ROSTER, ROSTER_HEADER, Problems, archive_entry, roster_line
from certifier.service.schemas import MAX_FILENAME
from certifier.service.validation import parse_date, parse_kind, parse_text
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
    problems.extend(found, content=True)
    return rows


def _parse_csv(data: bytes, problems: Problems) -> list[RosterRow]:
    if len(data) > MAX_CSV_BYTES:
        problems.reject(ROSTER, "csv_too_large", mib=MAX_CSV_BYTES // 2**20)
        return []
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        problems.reject(ROSTER, "csv_not_utf8", byte=exc.start)
        return []
    if not text.strip():
        problems.reject(ROSTER, "csv_empty")
        return []
    first_line = text.splitlines()[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except csv.Error:
        problems.reject(roster_line(1), "csv_malformed")
        return []
    missing = [c for c in COLUMNS if c not in header]
    unknown = [h[:40] for h in header if h not in COLUMNS + OPTIONAL]
    if missing:
        problems.reject(ROSTER_HEADER, "columns_missing", missing=", ".join(missing), expected=", ".join(COLUMNS))
    if unknown:
        problems.reject(ROSTER_HEADER, "columns_unknown", unknown=", ".join(unknown))
    if len(set(header)) != len(header):
        problems.reject(ROSTER_HEADER, "column_twice")
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
                problems.reject(ROSTER, "too_many_rows", limit=MAX_ROWS)
                break
            row = _row(line, header, values, problems, seen_refs, seen_files)
            if row is not None:
                rows.append(row)
    except csv.Error:
        problems.reject(roster_line(line + 1), "csv_malformed")
    if not rows and not problems:
        problems.reject(ROSTER, "no_rows")
    return rows


def _row(
    line: int,
    header: list[str],
    values: list[str],
    problems: Problems,
    seen_refs: dict[str, int],
    seen_files: dict[str, int],
) -> RosterRow | None:
    if len(values) != len(header):
        problems.reject(roster_line(line), "field_count", count=len(values), expected=len(header))
        return None
    record = {k: v.strip() for k, v in zip(header, values, strict=True)}
    before = len(problems.found)
    for column in COLUMNS:
        if not record[column]:
            problems.reject(roster_line(line, column), "required")
    issued = parse_date(record["date"], roster_line(line, "date"), problems, end_of_day=False, date_only=True)
    until = parse_date(
        record.get("valid_until", ""), roster_line(line, "valid_until"), problems, end_of_day=True, date_only=True
    )
    parse_text(record["reference"], roster_line(line, "reference"), problems)
    parse_text(record["file"], roster_line(line, "file"), problems, limit=MAX_FILENAME)
    for column, seen in (("reference", seen_refs), ("file", seen_files)):
        first = seen.get(record[column])
        if first is not None:
            problems.reject(roster_line(line, column), "duplicate", value=record[column][:40], line=first)
        seen.setdefault(record[column], line)
    if issued is not None and until and until <= issued:
        problems.reject(roster_line(line, "valid_until"), "after_date")
    if len(problems.found) > before or issued is None:
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
        problems.reject(roster_line(line), exc.code, **exc.params)
        return None
    return row


def _unsafe(info: zipfile.ZipInfo) -> str | None:
    """Why an entry may not be extracted (a problem code), or None."""
    name = info.filename
    if "\\" in name or name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return "zip_absolute"
    if ".." in PurePosixPath(name).parts:
        return "zip_traversal"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "zip_link"
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
    problems.extend(found, content=True)
    return made


def _read_archive(archive: IO[bytes], rows: list[RosterRow], storage: Path, problems: Problems) -> list[RosterFile]:
    budget = min(MAX_TOTAL_BYTES, MAX_RATIO * _size(archive) + RATIO_FLOOR)
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        problems.reject(ARCHIVE, "zip_invalid")
        return []
    made: list[RosterFile] = []
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_ENTRIES:
            problems.reject(ARCHIVE, "zip_entries", count=len(infos), limit=MAX_ENTRIES)
            return []
        declared = 0
        by_name: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            reason = _unsafe(info)
            if reason:
                problems.reject(archive_entry(info.filename), reason)
                continue
            if info.is_dir():
                continue
            declared += info.file_size
            if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
                ratio = info.file_size // max(info.compress_size, 1)
                problems.reject(archive_entry(info.filename), "zip_ratio", ratio=ratio)
            by_name[info.filename] = info
            by_name.setdefault(PurePosixPath(info.filename).name, info)
        if declared > budget:
            problems.reject(ARCHIVE, "zip_expands", size=declared, limit=budget)
        named = set()
        for row in rows:
            entry = by_name.get(row.file)
            if entry is None:
                problems.reject(roster_line(row.line, "file"), "not_in_archive", file=row.file[:80])
            else:
                named.add(entry.filename)
        for info in infos:
            if not info.is_dir() and info.filename not in named and not _unsafe(info):
                problems.reject(archive_entry(info.filename), "not_in_roster")
        if problems:
            return []
        remaining = [budget]
        try:
            for row in rows:
                info = by_name[row.file]
                digest, tmp, size = _extract(zf, info, storage, remaining)
                made.append(RosterFile(row, digest, tmp))
                if size == 0:
                    problems.reject(roster_line(row.line, "file"), "file_empty", file=row.file[:80])
        except _TooBig as exc:
            problems.reject(archive_entry(exc.args[0]), exc.args[1])
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, NotImplementedError):
            problems.reject(ARCHIVE, "zip_corrupt")
        if problems:
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
                    raise _TooBig(info.filename, "zip_larger_than_header")
                if remaining[0] < 0:
                    raise _TooBig(info.filename, "zip_past_limit")
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
    for name, part in (("roster", roster), ("archive", archive)):
        if part is None and name not in problems.paths():  # else the API's schema said it first
            problems.add(name, "required")
    kind_code = parse_kind(kind, "kind", problems, kinds)
    until = parse_date(valid_until, "validUntil", problems, end_of_day=True, date_only=True)
    rows = parse_csv(roster.read(MAX_CSV_BYTES + 1), problems) if roster is not None else []
    files = read_archive(archive, rows, storage, problems) if archive is not None and rows else []
    if problems:
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
            problems.reject("validUntil", "valid_until_rows", reference=item.reference)
            break
    if problems:
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
