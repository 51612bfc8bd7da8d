"""Production serving with gunicorn (the Flask dev server only with --debug)."""

from __future__ import annotations

import gc
import sys
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication  # type: ignore[import-untyped]


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, app: Flask, options: dict[str, Any]) -> None:
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return self.application


def serve(app: Flask, host: str, port: int, workers: int = 2, debug: bool = False) -> None:
    if debug:
        app.run(host=host, port=port, debug=True)
        return
    # Loaded here, once, what the workers may need later but the app does not import at start:
    # after the fork, each worker would load its own copy. eth-account verifies QR seals (4 MiB),
    # zxing-cpp reads QR codes from images (2 MiB), pypdf reads certified PDFs.
    import eth_account  # noqa: F401
    import zxingcpp  # noqa: F401

    import verifier.pdf  # noqa: F401

    gc.freeze()  # the objects loaded so far are never touched by the collector: their pages stay shared
    options: dict[str, Any] = {"bind": f"{host}:{port}", "workers": workers, "accesslog": "-", "timeout": 60}
    trim = _heap_trimmer()
    if trim is not None:
        options["post_request"] = trim
    _Gunicorn(app, options).run()


def _heap_trimmer() -> Any:
    """A gunicorn `post_request` hook that gives the heap's free memory back to the system (glibc's
    malloc_trim), or None where the C library has none. An upload's body is megabytes, freed when
    its request ends, but glibc keeps the top of its heap for the next one. scripts/bench_issue.py,
    three or four runs each way: 319 to 359 MiB with it, 329 to 367 without; 202s at 2,915 to 3,069/s (uploads
    not kept) against 2,841 to 3,735 without, within this machine's run-to-run spread."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    libc = ctypes.CDLL(name) if name else None
    malloc_trim = getattr(libc, "malloc_trim", None)
    if malloc_trim is None:
        return None

    def trim(worker: Any, req: Any, environ: Any, resp: Any) -> None:
        malloc_trim(0)

    return trim


def main(argv: list[str] | None = None) -> None:
    """``python -m certifier.service.server HOST PORT WORKERS [--debug]``: the web half of `sceau serve`,
    run by the supervisor in a process whose environment holds no key secret."""
    from certifier.service.app import create_app

    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    host, port, workers = [a for a in args if a != "--debug"]
    serve(create_app(), host, int(port), workers=int(workers), debug=debug)


if __name__ == "__main__":
    main()
