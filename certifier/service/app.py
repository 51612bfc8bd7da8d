"""The Flask application factory: the verifier endpoint plus the issuer API.

Configuration, later sources winning: built-in defaults, ``$SCEAU_HOME/instance/sceau.toml``
(e.g. ``SCEAU_BATCH_SIZE = 500``), the environment (``SCEAU_…``), then `test_config`.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from flask import Flask

from certifier.config import home, private_umask
from certifier.keys import SECRET_ENV
from certifier.service.context import ServiceContext
from certifier.settings import Settings
from verifier.page import bp as page_bp
from verifier.web import bp as verify_bp


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    private_umask()  # the database, its WAL and SHM, stored documents: 0600 (config.py says why)
    base = home()
    app = Flask(__name__, instance_path=str(base / "instance"), instance_relative_config=True)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True, mode=0o700)
    app.config.from_mapping(SCEAU_RPC_URL=None, SCEAU_DATABASE_URL=None, SCEAU_STORAGE=str(base / "documents"))
    app.config.from_file("sceau.toml", load=tomllib.load, text=False, silent=True)
    app.config.update({k: v for k, v in os.environ.items() if k.startswith("SCEAU_") and k not in SECRET_ENV})
    if test_config:
        app.config.from_mapping(test_config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(Path(app.instance_path))
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax")
    settings = Settings.from_mapping(dict(app.config))
    app.config["MAX_CONTENT_LENGTH"] = settings.max_upload_bytes
    app.config["MAX_FORM_MEMORY_SIZE"] = 1024 * 1024
    if settings.proxies:  # behind N reverse proxies: trust their X-Forwarded-For/-Proto/-Host/-Prefix
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = settings.proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_prefix=n)  # type: ignore[method-assign]
    if not app.config.get("SCEAU_RPC_URL"):
        from certifier.chain.localchain import effective_rpc_url

        app.config["SCEAU_RPC_URL"] = effective_rpc_url()
    app.extensions["sceau"] = ServiceContext.create(
        settings=settings,
        db_url=app.config.get("SCEAU_DATABASE_URL"),
        rpc_url=app.config["SCEAU_RPC_URL"],
        storage=Path(app.config["SCEAU_STORAGE"]),
    )
    app.config.setdefault("SCEAU_RATE_LIMIT_EXEMPT", _issuer_call)  # issuers' own calls are not rate limited
    from certifier.service.api import bp as api_bp
    from certifier.service.console import bp as console_bp
    from certifier.service.openapi import bp as openapi_bp

    app.register_blueprint(verify_bp)
    app.register_blueprint(page_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(openapi_bp)
    app.register_blueprint(console_bp)
    app.register_blueprint(
        __import__("certifier.service.status_lists", fromlist=["bp"]).bp
    )  # GET /status/… (CREDENTIAL.md §6)
    from certifier.service.health import healthz_view

    app.config.setdefault("SCEAU_HEALTH", healthz_view)  # /healthz: chain, worker, queue (health.py)
    if app.testing:  # every answer the test suite gets is checked against the OpenAPI document
        _check_responses(app)
    return app


def _check_responses(app: Flask) -> None:
    from flask import Response, request

    from certifier.service.contract import check_response

    @app.after_request
    def checked(response: Response) -> Response:
        check_response(request, response)
        return response


def _issuer_call() -> bool:
    """Whether the request carries a valid API token: the public verifier's rate limits are for
    anonymous clients, not for an issuer checking its own documents."""
    from flask import current_app, request
    from sqlalchemy.exc import SQLAlchemyError

    from certifier.service.auth import Unauthorized, authenticate

    header = request.headers.get("Authorization")
    if not header:
        return False
    try:
        with current_app.extensions["sceau"].sessions() as session:
            authenticate(session, header)
    except Unauthorized:
        return False
    except SQLAlchemyError:
        current_app.logger.warning("cannot check an API token (database unavailable): rate limits apply")
        return False
    return True


def _secret_key(instance: Path) -> str:
    """The console's session key: SCEAU_SECRET_KEY, else one made once and kept in the instance folder."""
    import secrets

    explicit = os.environ.get("SCEAU_SECRET_KEY")
    if explicit:
        return explicit
    path = instance / "secret_key"
    if not path.exists():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first
            pass
        else:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
    return path.read_text().strip()
