"""The ``sceau`` command line. Every command has --help; those a script would parse have --json.

Errors print one line a person can act on (no traceback) and exit non-zero; `verify` keeps its own
exit codes (0 valid, 1 not authentic, 2 revoked, 3 expired, 4 could not decide).

This module only assembles the groups, each in its own module: chain.py (the local chain,
deploying), issuers.py (accreditors, issuers, API tokens), issuing.py (issue, seal), revoking.py
(revoke), trustlist.py, service.py (serve, worker, status), credentials.py (Verifiable
Credentials), and `verify` from verifier/cli.py.

A command's module is imported only when that command runs (or when --help lists them all): the
chain libraries take about 1.8 s to load, and `sceau issue` starts hashing its files before it
needs them (issuing.py)."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import click

from verifier.core.errors import SceauError

#: = certifier.config.PRIVATE_UMASK (pinned by tests/test_issue_throughput.py); set here without
#: importing certifier.config, which loads the chain libraries
PRIVATE_UMASK = 0o077

#: command name -> "module:attribute" of the click command; "verify" is made by verifier/cli.py
COMMANDS = {
    "chain": "certifier.cli.chain:chain",
    "deploy": "certifier.cli.chain:deploy",
    "accreditor": "certifier.cli.issuers:accreditor",
    "issuer": "certifier.cli.issuers:issuer",
    "issue": "certifier.cli.issuing:issue",
    "revoke": "certifier.cli.revoking:revoke",
    "seal": "certifier.cli.issuing:seal",
    "trustlist": "certifier.cli.trustlist:trustlist",
    "token": "certifier.cli.issuers:token",
    "worker": "certifier.cli.service:worker",
    "status": "certifier.cli.service:status",
    "serve": "certifier.cli.service:serve",
    "credential": "certifier.cli.credentials:credential",  # CREDENTIAL.md
    "verify": "certifier.cli.commands:_verify_command",
}


def _verify_command() -> click.Command:
    from certifier.cli.resources import default_rpc_url
    from verifier.cli import make_verify_command

    return make_verify_command(default_rpc_url)


class SceauGroup(click.Group):
    """Loads each command's module when the command is asked for, and turns any SceauError into
    `error: …` on stderr and exit code 1."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            module, _, attribute = COMMANDS[cmd_name].partition(":")
            found = getattr(importlib.import_module(module), attribute)
            command = found if isinstance(found, click.Command) else found()
            self.add_command(command, cmd_name)
        return self.commands.get(cmd_name)

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


def main() -> None:
    os.umask(PRIVATE_UMASK)  # keys, database, documents, chain state: private to this user (certifier/config.py)
    cli()


if __name__ == "__main__":
    main()
