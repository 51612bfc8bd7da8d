"""Fuzz the issuer API from its own OpenAPI document with schemathesis, and count what breaks.

    .venv/bin/python scripts/fuzz_api.py [--max-examples 50] [--seed 1] [--no-stateful] [--postgresql URL]

Self-contained: a throw-away $SCEAU_HOME, a local anvil chain with the registry deployed, one
accredited issuer and a token with every scope, the app served over HTTP on a free local port (a
real server, so that schemathesis' probes send what a client sends); then schemathesis runs its
examples, coverage, fuzzing and, unless --no-stateful, stateful phases (following the document's
links), with every built-in check. Prints the operations, the cases sent, the 5xx answers and the
conformance failures (a status, content type, schema or header the document does not state; valid
data refused; invalid data accepted), and exits 1 unless the last two are 0.

One setting departs from schemathesis' defaults, on purpose. Valid data may also get 422: the
document states the shape of a request (a 400 when it is wrong); a 422 is for what a schema cannot
state (validUntil after validFrom, a date in 1970 to 2199, a kind this issuer is accredited for, an
empty file, a CSV roster's content, an `archive` that is not a ZIP), so a schema-valid request can
still be unprocessable. Every other check runs on every operation, the public verifier's included.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from certifier.store.scratch import scratch_database  # noqa: E402

SPEC_PATH = "/api/v1/openapi.json"
#: schemathesis' default statuses for valid data, and 422 (see the module docstring).
POSITIVE_STATUSES = ["2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"]


@dataclass
class Report:
    operations: set[str] = field(default_factory=set)
    cases: int = 0
    server_errors: list[str] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)  # one line per distinct (operation, check, title)
    errors: list[str] = field(default_factory=list)  # schemathesis could not run something

    @property
    def ok(self) -> bool:
        return not self.server_errors and not self.failures and not self.errors

    def summary(self) -> str:
        lines = [
            f"operations: {len(self.operations)}",
            f"cases: {self.cases}",
            f"5xx: {len(self.server_errors)}",
            f"conformance failures: {len(self.failures)}",
        ]
        if self.errors:
            lines.append(f"errors: {len(self.errors)}")
        return "\n".join(lines)

    def details(self) -> str:
        return "\n".join([*self.server_errors, *self.failures.values(), *self.errors])


def fuzz(
    app: Any,
    token: str,
    *,
    max_examples: int,
    seed: int | None = None,
    stateful: bool = True,
    progress: Callable[[str], None] | None = None,
) -> Report:
    """Serve the WSGI `app` on a free local port and run schemathesis against it, authenticated
    with `token`."""
    import schemathesis
    from schemathesis.config import SchemathesisConfig
    from schemathesis.engine import Status, events, from_schema

    settings: dict[str, Any] = {
        "headers": {"Authorization": f"Bearer {token}"},
        "generation": {"max-examples": max_examples, "mode": "all"},
        "checks": {"positive_data_acceptance": {"expected-statuses": POSITIVE_STATUSES}},
        "phases": {"stateful": {"enabled": stateful}},
        "workers": 1,
    }
    if seed is not None:
        settings["seed"] = seed
    config = SchemathesisConfig.from_dict(settings)
    report = Report()
    with serving(app) as base_url:
        schema = schemathesis.openapi.from_url(base_url + SPEC_PATH, config=config)
        for event in from_schema(schema).execute():
            if isinstance(event, events.ScenarioFinished):
                _collect(report, event.recorder, Status)
                if progress is not None:
                    progress(f"{event.phase.value}: {event.label or 'links'} {event.status.value}")
            elif isinstance(event, events.NonFatalError):
                report.errors.append(f"error in {event.label}: {event.info.format()}".strip())
            elif isinstance(event, events.FatalError):
                report.errors.append(f"fatal: {event.exception!r}")
        _collect_client_sockets()
    return report


def _collect_client_sockets() -> None:
    """schemathesis leaves its HTTP sessions to the garbage collector: collect them now, quietly,
    rather than in whatever test runs next (where pytest's warnings-as-errors would blame it)."""
    import gc
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """`app` served by werkzeug's threaded server on a free local port, stopped on exit."""
    import threading

    from werkzeug.serving import WSGIRequestHandler, make_server

    class Quiet(WSGIRequestHandler):
        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            pass  # thousands of requests: the report says what matters

    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=Quiet)
    thread = threading.Thread(target=server.serve_forever, name="fuzz-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _collect(report: Report, recorder: Any, status: Any) -> None:
    for node in recorder.cases.values():
        report.operations.add(node.value.operation.label)
    for case_id, interaction in recorder.interactions.items():
        report.cases += 1
        response = interaction.response
        if response is not None and response.status_code >= 500:
            case = recorder.cases[case_id].value
            report.server_errors.append(
                f"5xx: {case.operation.label} answered {response.status_code}: {case.as_curl_command()}"
            )
    for case_id, checks in recorder.checks.items():
        for check in checks:
            if check.status != status.FAILURE or check.name == "not_a_server_error" or check.failure_info is None:
                continue
            info = check.failure_info
            case = recorder.cases[case_id].value
            title = getattr(info.failure, "title", type(info.failure).__name__)
            message = getattr(info.failure, "message", "")
            key = f"{case.operation.label} | {check.name} | {title}"
            report.failures.setdefault(key, f"{key}\n    {message}\n    {info.code_sample}")


@contextmanager
def service(postgresql: str | None = None) -> Iterator[tuple[Any, str]]:
    """A throw-away deployment: the app and a token of an accredited issuer with every scope."""
    import socket

    from certifier.chain import localchain

    home = Path(tempfile.mkdtemp(prefix="sceau-fuzz-"))
    saved = dict(os.environ)
    os.environ.update(SCEAU_HOME=str(home), SCEAU_KEY_PASSPHRASE="fuzz passphrase", SCEAU_SCRYPT_N="2048")
    try:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        chain = localchain.up(port, base=home)
        os.environ["SCEAU_RPC_URL"] = chain.url
        with scratch_database(postgresql, home, "sceau_fuzz") as url:
            os.environ["SCEAU_DATABASE_URL"] = url
            app, token = _deployed(chain.url, home)
            try:
                yield app, token
            finally:
                app.extensions["sceau"].dispose()
    finally:
        localchain.down(home)
        os.environ.clear()
        os.environ.update(saved)
        shutil.rmtree(home, ignore_errors=True)


def _deployed(rpc_url: str, home: Path) -> tuple[Any, str]:
    from certifier.chain.deployment import connect, deploy
    from certifier.chain.issuers import create_issuer
    from certifier.service.app import create_app
    from certifier.service.auth import create_token

    w3 = connect(rpc_url)
    deploy(w3, home)
    create_issuer(w3, "Université du Fuzz", ("diploma", "transcript"), "FUZZ-1", "fuzz passphrase")
    app = create_app({"SCEAU_BATCH_SECONDS": "3600", "SCEAU_MAX_UPLOAD_BYTES": str(4 * 1024 * 1024)})
    with app.extensions["sceau"].sessions() as s:
        _, secret = create_token(s, "Université du Fuzz", ["issue", "revoke", "read"])
        s.commit()
    return app, secret


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-examples", type=int, default=50, help="examples per operation and phase (50)")
    parser.add_argument("--seed", type=int, default=None, help="hypothesis seed, to replay a run")
    parser.add_argument("--no-stateful", action="store_true", help="skip the stateful phase (links)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print each scenario as it ends")
    parser.add_argument(
        "--postgresql", metavar="URL", default=None, help="a PostgreSQL server to fuzz on (a fresh database on it)"
    )
    args = parser.parse_args()
    with service(args.postgresql) as (app, token):
        report = fuzz(
            app,
            token,
            max_examples=args.max_examples,
            seed=args.seed,
            stateful=not args.no_stateful,
            progress=print if args.verbose else None,
        )
    print(report.summary())
    if not report.ok:
        print(report.details())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
