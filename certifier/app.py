"""The Flask application: the verifier endpoint now; the issuer API joins it in its own blueprints."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask

from verifier.web import bp as verify_bp


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(SCEAU_RPC_URL=os.environ.get("SCEAU_RPC_URL"), MAX_CONTENT_LENGTH=64 * 1024 * 1024)
    if test_config:
        app.config.from_mapping(test_config)
    app.register_blueprint(verify_bp)
    return app
