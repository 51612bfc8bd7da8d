"""The local development chain: anvil from node_modules, run in the background, state persisted
under ``$SCEAU_HOME/chain``. See hardhat-free-local-chain.md."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from certifier.config import DEV_CHAIN_ID, home, project_root
from verifier.core.errors import ConfigurationError

DEFAULT_PORT = 8545
_STARTED: dict[int, subprocess.Popen[bytes]] = {}
STATE_INTERVAL = 2  # seconds between state dumps while running; a clean stop dumps too


@dataclass(frozen=True)
class ChainProcess:
    pid: int
    port: int
    state_file: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def anvil_binary() -> Path:
    explicit = os.environ.get("SCEAU_ANVIL")
    candidates = [Path(explicit)] if explicit else []
    candidates.append(project_root() / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil")
    found = shutil.which("anvil")
    if found:
        candidates.append(Path(found))
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return path
    raise ConfigurationError("anvil not found: run `make install` (it installs @foundry-rs/anvil-linux-amd64)")


def _chain_dir(base: Path | None = None) -> Path:
    path = (base or home()) / "chain"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of ours counts as dead
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def rpc_ready(url: str, timeout: float = 0.5) -> bool:
    try:
        r = requests.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}, timeout=timeout)
        return r.ok and "result" in r.json()
    except (requests.RequestException, ValueError):
        return False


def running(base: Path | None = None) -> ChainProcess | None:
    pidfile = _chain_dir(base) / "anvil.json"
    if not pidfile.exists():
        return None
    info = json.loads(pidfile.read_text())
    proc = ChainProcess(info["pid"], info["port"], Path(info["state"]))
    if _alive(proc.pid):
        return proc
    child = _STARTED.pop(proc.pid, None)
    if child is not None:
        child.wait()  # reap a node of ours that died
    pidfile.unlink()
    return None


def up(
    port: int = DEFAULT_PORT,
    base: Path | None = None,
    block_time: int | None = None,
    extra: tuple[str, ...] = (),
    state_interval: int = STATE_INTERVAL,
) -> ChainProcess:
    """Start anvil unless it already runs; return the running node. Idempotent."""
    current = running(base)
    if current is not None:
        if current.port != port:
            raise ConfigurationError(f"the local chain already runs on port {current.port}; stop it first")
        return current
    if rpc_ready(f"http://127.0.0.1:{port}"):
        raise ConfigurationError(f"port {port} is taken by another JSON-RPC node; choose another with --port")
    folder = _chain_dir(base)
    state = folder / "state.json"
    cmd = [
        str(anvil_binary()),
        "--port",
        str(port),
        "--host",
        "127.0.0.1",
        "--chain-id",
        str(DEV_CHAIN_ID),
        "--state",
        str(state),
        "--state-interval",
        str(state_interval),
    ]
    if block_time:
        cmd += ["--block-time", str(block_time)]
    cmd += list(extra)  # e.g. --no-mining for fault tests
    with (folder / "anvil.log").open("ab") as log:
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
    _STARTED[proc.pid] = proc  # keep the handle so that `down` in this process can reap the child
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while not rpc_ready(url):
        if proc.poll() is not None:
            _STARTED.pop(proc.pid, None)
            raise ConfigurationError(f"anvil exited with code {proc.returncode}; see {folder / 'anvil.log'}")
        if time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            _STARTED.pop(proc.pid, None)
            raise ConfigurationError(f"anvil did not answer on {url} within 30 s; see {folder / 'anvil.log'}")
        time.sleep(0.05)
    (folder / "anvil.json").write_text(json.dumps({"pid": proc.pid, "port": port, "state": str(state)}))
    return ChainProcess(proc.pid, port, state)


def down(base: Path | None = None, timeout: float = 20) -> bool:
    """Stop the local chain, letting anvil write its state. Returns False if none was running."""
    current = running(base)
    if current is None:
        return False
    os.kill(current.pid, signal.SIGTERM)
    child = _STARTED.pop(current.pid, None)
    if child is not None:
        try:
            child.wait(timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    else:
        deadline = time.monotonic() + timeout
        while _alive(current.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _alive(current.pid):
            os.kill(current.pid, signal.SIGKILL)
    (_chain_dir(base) / "anvil.json").unlink(missing_ok=True)
    return True


def effective_rpc_url(base: Path | None = None) -> str:
    """``SCEAU_RPC_URL`` if set, else the local chain started by `sceau chain up`, else the default."""
    if os.environ.get("SCEAU_RPC_URL"):
        return os.environ["SCEAU_RPC_URL"]
    proc = running(base)
    return proc.url if proc else f"http://127.0.0.1:{DEFAULT_PORT}"
