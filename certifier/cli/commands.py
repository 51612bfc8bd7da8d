"""The ``sceau`` command line. Every command has --help; those a script would parse have --json.

Errors print one line a person can act on (no traceback) and exit non-zero; `verify` keeps its own
exit codes (0 valid, 1 not authentic, 2 revoked, 3 expired, 4 could not decide).

This module only assembles the groups, each in its own module: chain.py (the local chain,
deploying), issuers.py (accreditors, issuers, API tokens), issuing.py (issue, revoke, seal),
trustlist.py, service.py (serve, worker, status), credentials.py (Verifiable Credentials), and
`verify` from verifier/cli.py."""

from __future__ import annotations

import sys
from typing import Any

import click

from certifier.cli import chain, credentials, issuers, issuing, service, trustlist
from certifier.cli.resources import default_rpc_url
from verifier.cli import make_verify_command
from verifier.core.errors import SceauError


class SceauGroup(click.Group):
    """Turns any SceauError into `error: …` on stderr and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SceauError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)


@click.group(cls=SceauGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="sceau")
def cli() -> None:
    """Sceau: certify documents on an Ethereum-compatible chain and verify them from the chain alone."""


for command in (
    chain.chain,
    chain.deploy,
    issuers.accreditor,
    issuers.issuer,
    issuing.issue,
    issuing.revoke,
    issuing.seal,
    trustlist.trustlist,
    issuers.token,
    service.worker,
    service.status,
    service.serve,
    credentials.credential,  # CREDENTIAL.md
):
    cli.add_command(command)
cli.add_command(make_verify_command(default_rpc_url), "verify")


def main() -> None:
    from certifier.config import private_umask

    private_umask()  # keys, database, documents, chain state: private to this user (config.py)
    cli()


if __name__ == "__main__":
    main()
