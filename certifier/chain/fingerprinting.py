"""Fingerprinting the files of a run: checked first, then hashed, on every core for large runs.

This module imports nothing heavy (no web3, no eth-account) on purpose: `sceau issue` starts the
hashing here before it loads the chain libraries (about 1.8 s of imports on a 2-core machine),
so that the two overlap. Hashing runs in forked processes, started while the command is still a
small process with no other thread (a fork is then cheap and safe); threads would gain little
here, since each file's read and digest call must take the GIL back from the importing thread.
"""

from __future__ import annotations

import multiprocessing
import os
import stat
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

from verifier.core.errors import DocumentError
from verifier.core.hashing import sha256_file

#: below this many files, hashing in this process is quicker than starting others
PARALLEL_FROM = 256
#: files per task sent to a hashing process: few messages, yet work spread evenly
CHUNK = 128


def check_files(paths: Sequence[Path]) -> None:
    """Refuse the whole run, naming every bad file, before anything is read or sent."""
    problems: list[str] = []
    seen: set[tuple[int, int]] = set()
    for path in paths:
        try:
            st = os.stat(path)
        except FileNotFoundError:
            problems.append(f"{path}: no such file")
            continue
        except OSError as exc:
            problems.append(f"{path}: cannot be read ({exc.strerror})")
            continue
        if stat.S_ISDIR(st.st_mode):
            problems.append(f"{path}: is a directory, not a document")
        elif st.st_size == 0:
            problems.append(f"{path}: the file is empty")
        if (st.st_dev, st.st_ino) in seen:
            problems.append(f"{path}: given twice")
        seen.add((st.st_dev, st.st_ino))
    if problems:
        raise DocumentError("nothing was issued:\n  " + "\n  ".join(problems))


def _sha256_chunk(paths: Sequence[Path]) -> list[bytes]:
    return [sha256_file(p) for p in paths]


class Fingerprints:
    """The SHA-256 of every file of a run, being computed from the moment it is made.

    `start` checks the files and hands them to hashing processes at once; `result` waits for the
    digests, in the files' order, reporting progress as chunks complete. A file that cannot be
    read refuses the whole run (DocumentError from `result`)."""

    def __init__(self, paths: Sequence[Path], pool: ProcessPoolExecutor | None, chunks: list[Future[list[bytes]]]):
        self._paths, self._pool, self._chunks = paths, pool, chunks

    @classmethod
    def start(cls, paths: Sequence[Path], *, parallel: bool | None = None) -> Fingerprints:
        """Check `paths` and start hashing them: in processes when there are many files and more
        than one core (or when `parallel` says so), else lazily, in this process, in `result`."""
        check_files(paths)
        cores = os.cpu_count() or 1
        if parallel is None:
            parallel = len(paths) >= PARALLEL_FROM and cores > 1
        if not parallel:
            return cls(paths, None, [])
        context = multiprocessing.get_context("fork") if sys.platform == "linux" else None
        pool = ProcessPoolExecutor(max_workers=cores, mp_context=context)
        chunks = [pool.submit(_sha256_chunk, paths[i : i + CHUNK]) for i in range(0, len(paths), CHUNK)]
        return cls(paths, pool, chunks)

    def result(self, progress: Callable[[int], None] | None = None) -> list[bytes]:
        """Every file's SHA-256, in order; the hashing processes are gone when this returns."""
        if self._pool is None:
            digests = []
            for path in self._paths:
                digests.append(sha256_file(path))
                if progress:
                    progress(1)
            return digests
        try:
            out: list[bytes] = []
            for chunk in self._chunks:
                part = chunk.result()
                out.extend(part)
                if progress:
                    progress(len(part))
            return out
        finally:
            self.close()

    def close(self) -> None:
        """Stop hashing (a run refused meanwhile); idempotent."""
        if self._pool is not None:
            for chunk in self._chunks:
                chunk.cancel()
            self._pool.shutdown(wait=True)
            self._pool = None


def fingerprint_all(paths: Sequence[Path], progress: Callable[[int], None] | None = None) -> list[bytes]:
    """SHA-256 of every file, refusing the whole run if any one cannot be used."""
    return Fingerprints.start(paths).result(progress)
