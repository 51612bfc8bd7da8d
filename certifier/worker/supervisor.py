"""`sceau serve`: the web server and the anchoring worker as two child processes, supervised.

- The web server (gunicorn) parses untrusted PDFs, ZIPs and images: it is started with an
  environment stripped of every secret (certifier.keys.SECRET_ENV); only the worker gets them.
- The worker is restarted whenever it exits, after 1, 2, 4… seconds up to a minute when it keeps
  failing (a run that lasted a minute resets the count).
- The worker's output is passed on, but a traceback already shown is not shown again: one line
  says it happened again. The log says each distinct error once, not every restart.
- The web server's end ends `sceau serve` (with its exit code); SIGTERM or SIGINT stops both.
- The worker starts first and opens every issuer's key (Custody.open_all); the web server starts
  when the worker says so (one byte on a pipe, READY_FD_ENV), or when it exits, or after
  READY_SECONDS. A keystore's KDF takes 256 MiB for a second: done before the web processes
  exist, it never adds to their memory (issue 10: the service within 300 MiB).
"""

from __future__ import annotations

import logging
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import IO

from certifier.keys import SECRET_ENV

log = logging.getLogger("sceau.serve")

STABLE_SECONDS = 60.0  # a worker that ran this long was not failing: the back-off starts over
STOP_GRACE_SECONDS = 30.0
#: The longest the web server waits for the worker's keys. One keystore takes about half a second;
#: a worker holding many (80 issuers: ~45 s) must not keep verification offline that long, so past
#: this the web server starts and the remaining KDFs run beside it (one at a time, +256 MiB).
READY_SECONDS = 10.0
READY_FD_ENV = "SCEAU_READY_FD"


def without_secrets(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment for processes that must hold no key secret."""
    return {k: v for k, v in environ.items() if k not in SECRET_ENV}


class TracebackOnce:
    """Passes lines on, but folds a traceback identical to one already passed into one line."""

    def __init__(self, emit: Callable[[str], None]) -> None:
        self.emit = emit
        self.seen: set[str] = set()
        self._block: list[str] | None = None

    def feed(self, line: str) -> None:
        if self._block is not None:
            self._block.append(line)
            if line[:1].isspace() or line.startswith("Traceback"):
                return
            block, self._block = "".join(self._block), None
            if block in self.seen:
                self.emit(f"(the same error again, its traceback not repeated: {line.strip()})\n")
            else:
                self.seen.add(block)
                self.emit(block)
        elif line.startswith("Traceback (most recent call last):"):
            self._block = [line]
        else:
            self.emit(line)

    def flush(self) -> None:
        """The end of the stream: a traceback cut short (its process stopped while writing it) is
        shown, unless it is the start of one already shown."""
        if self._block:
            block = "".join(self._block)
            if any(seen.startswith(block) for seen in self.seen):
                self.emit("(the same error again, its traceback cut short)\n")
            else:
                self.emit(block)
        self._block = None


@dataclass
class Supervisor:
    """Runs `web` (and `worker`, when given) until the web server ends or `stop` is set."""

    web: Sequence[str]
    worker: Sequence[str] | None
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    backoff_base: float = 1.0
    backoff_max: float = 60.0
    stop: threading.Event = field(default_factory=threading.Event)
    restarts: int = 0
    _lines: TracebackOnce = field(init=False)

    def __post_init__(self) -> None:
        self._lines = TracebackOnce(self._write)

    @staticmethod
    def _write(text: str) -> None:
        sys.stderr.write(text)
        sys.stderr.flush()

    def _start_worker(self) -> tuple[subprocess.Popen[str], int]:
        """The worker, and the read end of the pipe on which it says that its keys are open."""
        assert self.worker is not None
        ready, told = os.pipe()
        try:
            child = subprocess.Popen(
                list(self.worker),
                env={**self.environ, READY_FD_ENV: str(told)},
                stderr=subprocess.PIPE,
                text=True,
                errors="replace",
                pass_fds=(told,),
            )
        except BaseException:
            os.close(ready)
            raise
        finally:
            os.close(told)
        assert child.stderr is not None
        threading.Thread(target=self._pump, args=(child.stderr,), daemon=True).start()
        return child, ready

    def _wait_ready(self, ready: int) -> None:
        """Until the worker writes its byte, exits (end of file), READY_SECONDS pass, or `stop`."""
        deadline = time.monotonic() + READY_SECONDS
        try:
            while not self.stop.is_set() and (left := deadline - time.monotonic()) > 0:
                if select.select([ready], [], [], min(left, 0.2))[0]:
                    os.read(ready, 1)
                    return
        finally:
            os.close(ready)

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            self._lines.feed(line)
        self._lines.flush()
        stream.close()

    def delay(self, failures: int) -> float:
        return float(min(self.backoff_max, self.backoff_base * 2 ** min(failures - 1, 30)))

    def run(self) -> int:
        worker: subprocess.Popen[str] | None = None
        web: subprocess.Popen[bytes] | None = None
        started, failures, restart_at = time.monotonic(), 0, None
        last_code: int | None = None
        try:
            if self.worker:
                worker, ready = self._start_worker()
                self._wait_ready(ready)
            if self.stop.is_set():  # stopped while the worker opened its keys
                return 0
            web = subprocess.Popen(list(self.web), env=without_secrets(self.environ))
            while not self.stop.is_set():
                code = web.poll()
                if code is not None:
                    log.error("the web server exited with code %s: stopping", code)
                    return code
                if worker is not None and (exit_code := worker.poll()) is not None:
                    ran = time.monotonic() - started
                    failures = 1 if ran >= STABLE_SECONDS else failures + 1
                    wait = self.delay(failures)
                    if exit_code != last_code or failures & (failures - 1) == 0:  # new, or 1, 2, 4, 8… in a row
                        log.error(
                            "the anchoring worker exited with code %s after %.0f s (%d in a row); restarting in %.0f s",
                            exit_code,
                            ran,
                            failures,
                            wait,
                        )
                    last_code, worker, restart_at = exit_code, None, time.monotonic() + wait
                if worker is None and self.worker and restart_at is not None and time.monotonic() >= restart_at:
                    (worker, ready), started, restart_at = self._start_worker(), time.monotonic(), None
                    os.close(ready)  # the web server already runs: nothing waits for this one
                    self.restarts += 1
                self.stop.wait(0.2)
            return 0
        finally:
            for child in (worker, web):
                if child is not None and child.poll() is None:
                    child.terminate()
            for child in (worker, web):
                if child is not None:
                    try:
                        child.wait(STOP_GRACE_SECONDS)
                    except subprocess.TimeoutExpired:
                        child.kill()
                        child.wait()


def say_ready() -> None:
    """The worker's side of READY_FD_ENV: tell the supervisor that started it, if one did, that its
    keys are open (one byte on the pipe, then closed)."""
    fd = os.environ.pop(READY_FD_ENV, None)
    if fd is None:
        return
    try:
        os.write(int(fd), b"1")
        os.close(int(fd))
    except (OSError, ValueError):
        pass  # no supervisor listening any more: nothing to tell


def install_signals(stop: threading.Event) -> None:
    def handler(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
