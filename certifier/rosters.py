"""Cohort issuance: a CSV roster (one row per graduate) and a ZIP of the PDFs it names.

Everything is checked before anything is written, and every problem is reported at once: the CSV's
shape, each row's fields, each file's presence, and the ZIP's safety (no path traversal, no links,
no zip bomb: entry count, total size and compression ratio are bounded, and sizes are enforced
while decompressing, not taken from the headers).
"""

from __future__ import annotations

import csv
import hashlib
import io
import stat
import uuid
import zipfile
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path, PurePosixPath
from typing import IO

from verifier.hashing import CHUNK

from .validation import Problems

COLUMNS = ("reference", "family_name", "given_names", "degree", "date", "file")
OPTIONAL = ("valid_until",)
MAX_ROWS = 100_000
MAX_ENTRIES = 100_000
MAX_TOTAL_BYTES = 4 * 1024**3
MAX_RATIO = 100  # a PDF never deflates 100:1; a bomb does
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
    """The words a diploma of this row prints, bound on chain and shown by its seal."""
    from datetime import UTC, datetime

    from verifier.fields import normalise

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
    unknown = [h for h in header if h not in COLUMNS + OPTIONAL]
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
            where = f"roster line {line}"
            if len(values) != len(header):
                problems.add(where, f"{len(values)} fields, the header has {len(header)}")
                continue
            record = {k: v.strip() for k, v in zip(header, values, strict=True)}
            for column in COLUMNS:
                if not record[column]:
                    problems.add(f"{where} {column}", "required")
            issued = _date(record["date"], f"{where} date", problems, end_of_day=False)
            until = _date(record.get("valid_until", ""), f"{where} valid_until", problems, end_of_day=True)
            if record["reference"] in seen_refs:
                problems.add(
                    f"{where} reference", f"{record['reference']!r} already on line {seen_refs[record['reference']]}"
                )
            if record["file"] in seen_files:
                problems.add(f"{where} file", f"{record['file']!r} already on line {seen_files[record['file']]}")
            seen_refs.setdefault(record["reference"], line)
            seen_files.setdefault(record["file"], line)
            if issued is not None and all(record[c] for c in COLUMNS):
                if until and until <= issued:
                    problems.add(f"{where} valid_until", "must be after date")
                rows.append(
                    RosterRow(
                        line,
                        record["reference"],
                        record["family_name"],
                        record["given_names"],
                        record["degree"],
                        issued,
                        until or 0,
                        record["file"],
                    )
                )
            if len(rows) > MAX_ROWS:
                problems.add("roster", f"more than {MAX_ROWS} rows")
                break
    except csv.Error as exc:
        problems.add(f"roster line {line + 1}", f"malformed CSV: {exc}")
    if not rows and not problems.items:
        problems.add("roster", "no graduates listed")
    return rows


def _date(value: str | None, where: str, problems: Problems, *, end_of_day: bool) -> int | None:
    if not value:
        return None
    try:
        d = date.fromisoformat(value)
    except ValueError:
        problems.add(where, f"{value!r} is not a date like 2026-07-01")
        return None
    ts = int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp())
    return ts + 86400 if end_of_day else ts


def _unsafe(info: zipfile.ZipInfo) -> str | None:
    name = info.filename
    if "\\" in name or name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return "absolute or Windows path"
    if ".." in PurePosixPath(name).parts:
        return "path traversal ('..')"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "symbolic link"
    return None


def read_archive(archive: IO[bytes], rows: list[RosterRow], storage: Path, problems: Problems) -> list[RosterFile]:
    """Check the ZIP and copy the files the roster names into storage (hashing them). On any
    problem, nothing stays in storage."""
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        problems.add("archive", f"not a ZIP file ({exc})")
        return []
    made: list[RosterFile] = []
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_ENTRIES:
            problems.add("archive", f"{len(infos)} entries; the limit is {MAX_ENTRIES}")
            return []
        total = 0
        by_name: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            reason = _unsafe(info)
            if reason:
                problems.add(f"archive entry {info.filename!r}", f"refused: {reason}")
                continue
            if info.is_dir():
                continue
            total += info.file_size
            if info.compress_size and info.file_size > 1024**2 and info.file_size / info.compress_size > MAX_RATIO:
                problems.add(
                    f"archive entry {info.filename!r}",
                    f"refused: compression ratio {info.file_size // max(info.compress_size, 1)}:1 (a zip bomb?)",
                )
            by_name[info.filename] = info
            by_name.setdefault(PurePosixPath(info.filename).name, info)
        if total > MAX_TOTAL_BYTES:
            problems.add("archive", f"{total} bytes uncompressed; the limit is {MAX_TOTAL_BYTES}")
        named = set()
        for row in rows:
            found = by_name.get(row.file)
            if found is None:
                problems.add(f"roster line {row.line} file", f"{row.file!r} is not in the archive")
            else:
                named.add(found.filename)
        for info in infos:
            if not info.is_dir() and info.filename not in named and not _unsafe(info):
                problems.add(f"archive entry {info.filename!r}", "not named in the roster")
        if problems.items:
            return []
        try:
            for row in rows:
                info = by_name[row.file]
                digest, tmp, size = _extract(zf, info, storage)
                made.append(RosterFile(row, digest, tmp))
                if size == 0:
                    problems.add(f"roster line {row.line} file", f"{row.file!r} is empty")
        except _TooBig as exc:
            problems.add(f"archive entry {exc.args[0]!r}", "refused: larger than its header says (a zip bomb?)")
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            problems.add("archive", f"corrupt ZIP ({exc})")
        if problems.items:
            for f in made:
                f.tmp.unlink(missing_ok=True)
            return []
    return made


class _TooBig(Exception):
    pass


def _extract(zf: zipfile.ZipFile, info: zipfile.ZipInfo, storage: Path) -> tuple[bytes, Path, int]:
    tmp = storage / f".roster-{uuid.uuid4().hex}"
    digest = hashlib.sha256()
    size = 0
    with zf.open(info) as src, tmp.open("wb") as out:
        while chunk := src.read(CHUNK):
            size += len(chunk)
            if size > info.file_size:
                out.close()
                tmp.unlink()
                raise _TooBig(info.filename)
            digest.update(chunk)
            out.write(chunk)
    return digest.digest(), tmp, size
