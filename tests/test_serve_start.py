"""Red team of `sceau serve`'s start (certifier/worker/supervisor.py): the web server starts once
the worker says its keys are open, and never later than READY_SECONDS whatever the worker does;
the ready pipe and the key secrets never reach the web processes. These pin what holds today;
tests/test_worker_resilience.py covers the worker that says it, that exits, and the stop."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from certifier.worker import supervisor
from certifier.worker.supervisor import READY_FD_ENV, Supervisor

_WEB_REPORTS = (
    "import json, os, sys\n"
    "fds = {}\n"
    "for fd in sorted(int(n) for n in os.listdir('/proc/self/fd')):\n"
    "    try: fds[fd] = os.readlink(f'/proc/self/fd/{fd}')\n"
    "    except OSError: pass  # the listing's own directory, closed by now\n"
    "json.dump({'fds': fds, 'env': sorted(os.environ)}, open(sys.argv[1], 'w'))\n"
)


def test_the_web_server_holds_neither_the_ready_pipe_nor_a_secret(tmp_path: Path) -> None:
    report, worker_report = tmp_path / "web.json", tmp_path / "worker.json"
    worker = [
        sys.executable,
        "-c",
        "import json, os, sys, time\n"
        f"json.dump(sorted(os.environ), open({str(worker_report)!r}, 'w'))\n"
        f"os.write(int(os.environ[{READY_FD_ENV!r}]), b'1')\n"
        "time.sleep(600)\n",
    ]
    environ = {"PATH": "/usr/bin:/bin", "SCEAU_KEY_PASSPHRASE": "secret", "SCEAU_PKCS11_PIN": "1234"}
    web = [sys.executable, "-c", _WEB_REPORTS, str(report)]
    assert Supervisor(web, worker, environ=environ).run() == 0
    seen = json.loads(report.read_text())
    assert not {READY_FD_ENV, "SCEAU_KEY_PASSPHRASE", "SCEAU_PKCS11_PIN"} & set(seen["env"])
    assert {int(fd) for fd in seen["fds"]} <= {0, 1, 2}, seen["fds"]  # no pipe of the worker's
    assert {READY_FD_ENV, "SCEAU_KEY_PASSPHRASE", "SCEAU_PKCS11_PIN"} <= set(json.loads(worker_report.read_text()))


def test_a_worker_that_never_says_it_is_ready_nor_exits_delays_the_web_server_by_ready_seconds_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A KDF that hangs (a keystore with pbkdf2 c = 2^31 - 1: test_keyfile_hostile.py), a worker
    that forked a child keeping the pipe's write end and exited: the web server starts anyway."""
    monkeypatch.setattr(supervisor, "READY_SECONDS", 1.0)
    started = tmp_path / "web-started"
    worker = [
        sys.executable,
        "-c",
        "import os, subprocess, sys, time\n"
        f"fd = int(os.environ[{READY_FD_ENV!r}])\n"
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(5)'], pass_fds=(fd,))\n"
        "time.sleep(600)\n",
    ]
    web = [sys.executable, "-c", f"open({str(started)!r}, 'w').close()"]
    begun = time.monotonic()
    assert Supervisor(web, worker).run() == 0
    assert started.exists() and time.monotonic() - begun < 20
