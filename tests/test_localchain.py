"""`sceau chain up/down` and `sceau deploy` as a user runs them: idempotent, state kept across a
restart, and another endpoint checked against the deployment record."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import PASSPHRASE, free_port, run_sceau, write_docs


def test_chain_up_deploy_issue_down_up_again_keeps_everything(tmp_path: Path) -> None:
    home = tmp_path / "home"
    port = free_port()
    env = {"SCEAU_HOME": str(home), "SCEAU_RPC_URL": "", "SCEAU_KEY_PASSPHRASE": PASSPHRASE, "SCEAU_SCRYPT_N": "2048"}
    try:
        up = run_sceau("chain", "up", "--port", port, "--json", env=env)
        assert up.returncode == 0, up.stderr
        pid = json.loads(up.stdout)["pid"]
        again = run_sceau("chain", "up", "--port", port, "--json", env=env)
        assert again.returncode == 0 and json.loads(again.stdout)["pid"] == pid  # idempotent
        first = run_sceau("deploy", "--json", env=env)
        assert first.returncode == 0 and json.loads(first.stdout)["created"] is True
        second = run_sceau("deploy", "--json", env=env)
        assert second.returncode == 0 and json.loads(second.stdout)["created"] is False
        assert json.loads(second.stdout)["registry"] == json.loads(first.stdout)["registry"]
        assert (home / "deployment.json").exists()
        assert run_sceau("issuer", "create", "Lycée Persistant", "--kind", "diploma", env=env).returncode == 0
        [doc] = write_docs(tmp_path, 1)
        assert run_sceau("issue", "--issuer", "Lycée Persistant", doc, env=env).returncode == 0

        down = run_sceau("chain", "down", env=env)
        assert down.returncode == 0 and "state kept" in down.stdout
        assert (home / "chain" / "state.json").stat().st_size > 0
        assert run_sceau("verify", doc, env=env).returncode == 4  # nothing answers now

        assert run_sceau("chain", "up", "--port", port, env=env).returncode == 0
        redeploy = run_sceau("deploy", "--json", env=env)
        assert redeploy.returncode == 0, redeploy.stderr
        assert json.loads(redeploy.stdout)["created"] is False  # the registry survived the restart
        proc = run_sceau("verify", doc, env=env)
        assert proc.returncode == 0, proc.stdout
    finally:
        run_sceau("chain", "down", env=env)
    assert "not running" in run_sceau("chain", "down", env=env).stdout


def test_deployment_record_refuses_an_endpoint_of_another_chain(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "deployment.json").write_text(
        json.dumps(
            {
                "chain_id": 11155111,
                "registry": "0x" + "11" * 20,
                "transaction_hash": "0x" + "22" * 32,
                "block_number": 1,
                "root_authority": "0x" + "33" * 20,
                "rpc_url": "https://sepolia.example",
                "genesis_hash": "0x" + "44" * 32,
                "predecessor": None,
                "root_name": "Ministère",
            }
        )
    )
    port = free_port()
    env = {"SCEAU_HOME": str(home), "SCEAU_RPC_URL": "", "SCEAU_KEY_PASSPHRASE": PASSPHRASE}
    try:
        assert run_sceau("chain", "up", "--port", port, env=env).returncode == 0
        proc = run_sceau("issuer", "create", "X", "--kind", "diploma", env=env)
        assert proc.returncode == 1
        assert "serves chain 31337, but the deployment record is for chain 11155111" in proc.stderr
    finally:
        run_sceau("chain", "down", env=env)


def test_chain_up_refuses_a_port_taken_by_another_node(chain: object, tmp_path: Path) -> None:
    from tests.conftest import Chain

    assert isinstance(chain, Chain)
    port = chain.url.rsplit(":", 1)[1]
    proc = run_sceau("chain", "up", "--port", port, env={"SCEAU_HOME": str(tmp_path)})
    assert proc.returncode == 1 and f"port {port} is taken" in proc.stderr
