"""A short run of scripts/fuzz_api.py: schemathesis, from the served OpenAPI document, finds no 5xx
and no answer the document does not state (5 examples per operation and phase, a fixed seed so
that a failure replays; the script runs the long version)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from tests.conftest import ROOT, Service


def fuzz_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fuzz_api", Path(ROOT) / "scripts" / "fuzz_api.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["fuzz_api"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_schemathesis_finds_no_server_error_and_no_undocumented_answer(service: Service, issuer: str) -> None:
    token = service.token(issuer)["Authorization"].removeprefix("Bearer ")
    report = fuzz_script().fuzz(service.app, token, max_examples=5, seed=20261201)
    assert len(report.operations) == 14 and report.cases > 100, report.summary()
    assert report.ok, report.summary() + "\n" + report.details()
