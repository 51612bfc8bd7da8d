"""Every receipt of a run in one ZIP archive, for large runs of `sceau issue --receipts-zip`.

A member `NAME.receipt.json` per document NAME: unzipped beside the documents, each is where
`sceau verify NAME` (and `sceau verify --bulk` on the folder) looks for it. Light to import (no
chain libraries), so that the CLI can check member names before it loads anything heavy."""

from __future__ import annotations

import os
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from verifier.core.errors import DocumentError
from verifier.core.receipt import Receipt

RECEIPT_SUFFIX = ".receipt.json"


def check_member_names(documents: Sequence[Path]) -> None:
    """Refuse two documents whose receipts would share a member name (the same file name in two
    folders), before anything is read or sent."""
    seen: dict[str, Path] = {}
    clashes = []
    for path in documents:
        other = seen.setdefault(path.name, path)
        if other is not path:
            clashes.append(f"{other} and {path}")
    if clashes:
        raise DocumentError(
            "nothing was issued: the receipts archive names each receipt after its file, and these share a name:\n  "
            + "\n  ".join(clashes)
        )


class ReceiptsArchive:
    """The archive being written to `target`.

    One file instead of one per receipt: a large run costs one create, one fsync and one rename
    instead of thousands of each. The archive is written to a temporary file in the target's
    folder, made when this object is (before anything is anchored, so that a folder that cannot
    be written fails the run while nothing is lost), flushed to disk (the receipts hold the salts:
    without them an anchored document can never be verified), then renamed over `target`: the
    archive is complete or absent, never half-written. Members are stored, not deflated: receipts
    are mostly hashes, which deflate by 40 % at four times the cost of the whole write."""

    def __init__(self, target: Path) -> None:
        if target.is_dir():
            raise DocumentError(f"{target}: is a directory; --receipts-zip names the archive file to write")
        folder = target.parent
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
        except FileNotFoundError:
            raise DocumentError(f"{folder}: no such folder for the receipts archive") from None
        except OSError as exc:
            raise DocumentError(f"{folder}: the receipts archive cannot be written there ({exc.strerror})") from None
        self.target, self._tmp = target, Path(tmp)
        self._file: IO[bytes] | None = os.fdopen(fd, "w+b")

    @staticmethod
    def member(document: Path) -> str:
        return document.name + RECEIPT_SUFFIX

    def write(self, members: Sequence[tuple[str, Receipt]]) -> None:
        """Write the members, make them durable, and put the archive in place."""
        if self._file is None:
            raise RuntimeError("this receipts archive was already written or closed")
        with zipfile.ZipFile(self._file, "w", zipfile.ZIP_STORED) as zf:
            for name, receipt in members:
                zf.writestr(name, receipt.to_json())
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        self._file = None
        os.replace(self._tmp, self.target)

    def close(self) -> None:
        """Remove the temporary file of an archive left unwritten (the run failed before); once
        written, nothing to do."""
        if self._file is not None:
            self._file.close()
            self._file = None
            self._tmp.unlink(missing_ok=True)
