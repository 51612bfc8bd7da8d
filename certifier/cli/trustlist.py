"""`sceau trustlist export`: the signed list of accredited issuer keys, for offline checks of seals."""

from __future__ import annotations

import json
from pathlib import Path

import click

from certifier.cli.resources import chain_w3


@click.group()
def trustlist() -> None:
    """The signed trust list of accredited issuer keys, for offline checks of seals."""


@trustlist.command("export")
@click.option("--out", "out_path", type=click.Path(path_type=Path), default=None, help="File [default: stdout].")
@click.option(
    "--valid-days", type=click.FloatRange(min=0.01, max=366), default=7.0, show_default=True, help="Until next update."
)
def trustlist_export(out_path: Path | None, valid_days: float) -> None:
    """Export every accreditor, issuer and key the registry accredits, with validity periods,
    suspensions and compromise cut-offs, signed by the root authority (``SCEAU_ROOT_KEY``, or the
    dev chain's root)."""
    from certifier.chain.deployment import current, root_account, trust_anchor
    from certifier.chain.localchain import effective_rpc_url
    from verifier.chain import ChainReader
    from verifier.trustlist import export

    deployment = current(chain_w3())
    reader = ChainReader(effective_rpc_url(), deployment.registry)
    body = export(reader, trust_anchor(deployment), root_account(deployment.chain_id).key, valid_days=valid_days)
    text = json.dumps(body, indent=2, ensure_ascii=False) + "\n"
    if out_path is None:
        click.echo(text, nl=False)
    else:
        out_path.write_text(text)
        click.echo(f"trust list written to {out_path}", err=True)
