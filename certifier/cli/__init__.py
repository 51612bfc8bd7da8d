"""The `sceau` command line: chain, deployment, issuers, issuing and revoking, the service, verifying
(`commands`), and Verifiable Credentials (`credentials`)."""

from certifier.cli.commands import cli, main

__all__ = ["cli", "main"]
