"""`sceau chain up|down|status` (the local anvil node) and `sceau deploy` (the registry, and the
trust anchors a verifier is given)."""

from __future__ import annotations

import click

from certifier.cli.options import emit
from certifier.cli.resources import chain_w3


@click.group()
def chain() -> None:
    """Run the local development chain (anvil)."""


@chain.command("up")
@click.option("--port", default=8545, show_default=True, help="JSON-RPC port.")
@click.option(
    "--block-time", type=int, default=None, help="Mine a block every N seconds (default: on each transaction)."
)
@click.option("--json", "as_json", is_flag=True)
def chain_up(port: int, block_time: int | None, as_json: bool) -> None:
    """Start anvil in the background, its state kept under $SCEAU_HOME/chain. Idempotent."""
    from certifier.chain.localchain import up

    proc = up(port, block_time=block_time)
    emit(
        as_json,
        {"pid": proc.pid, "url": proc.url, "state": str(proc.state_file)},
        f"local chain running at {proc.url} (pid {proc.pid}, state {proc.state_file})",
    )


@chain.command("down")
def chain_down() -> None:
    """Stop the local chain; its state is kept for the next `sceau chain up`."""
    from certifier.chain.localchain import down

    click.echo("local chain stopped, state kept" if down() else "the local chain was not running")


@chain.command("status")
@click.option("--json", "as_json", is_flag=True)
def chain_status(as_json: bool) -> None:
    """Say whether the local chain runs, and where."""
    from certifier.chain.localchain import running

    proc = running()
    emit(
        as_json,
        {"running": proc is not None, "url": proc.url if proc else None},
        f"running at {proc.url} (pid {proc.pid})" if proc else "not running",
    )


@click.command()
@click.option(
    "--predecessor",
    default=None,
    metavar="ADDRESS",
    help="Deploy a new registry succeeding the one at ADDRESS (even if one is recorded).",
)
@click.option(
    "--admin-delay",
    type=click.IntRange(min=0),
    default=None,
    help="Seconds between beginning and accepting a transfer of the root role "
    "[default: SCEAU_ADMIN_DELAY, or 0 on the dev chain and 2 days elsewhere].",
)
@click.option("--json", "as_json", is_flag=True)
def deploy(predecessor: str | None, admin_delay: int | None, as_json: bool) -> None:
    """Deploy the registry unless it is already deployed on this chain, and record where it is."""
    from dataclasses import asdict

    from certifier.chain.deployment import deploy as do_deploy

    record, created = do_deploy(chain_w3(), predecessor=predecessor, admin_delay=admin_delay)
    emit(
        as_json,
        {**asdict(record), "created": created},
        f"{'deployed' if created else 'already deployed'}: registry {record.registry} on chain {record.chain_id}"
        + (f", succeeding {record.predecessor}" if created and record.predecessor else ""),
    )
