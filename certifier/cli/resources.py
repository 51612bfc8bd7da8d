"""What the commands open: the chain, an issuer's key (asking its passphrase unless
``SCEAU_KEY_PASSPHRASE`` holds it), and the service's database, closed when the command ends.
Heavy imports happen when a command runs, so that `sceau --help` stays quick, and this module
itself loads nothing heavy: `sceau issue` imports it while its files are being hashed."""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount
    from web3 import Web3

    from certifier.keys import keystore
    from certifier.service.context import ServiceContext


def chain_w3() -> Web3:
    """The chain this command works on (``SCEAU_RPC_URL``, else the local chain)."""
    from certifier.chain.deployment import connect
    from certifier.chain.localchain import effective_rpc_url

    return connect(effective_rpc_url())


def ask_passphrase(confirm: bool = False) -> str:
    """``SCEAU_KEY_PASSPHRASE``, or asked (twice with `confirm`, for a new key)."""
    value = os.environ.get("SCEAU_KEY_PASSPHRASE")
    if value:
        return value
    result: str = click.prompt("Keystore passphrase", hide_input=True, confirmation_prompt=confirm)
    return result


def unlock_issuer(name: str) -> tuple[keystore.IssuerKey, LocalAccount]:
    """The issuer's record and its unlocked key, warning when the registry does not accredit it."""
    record, passphrase = _issuer_record(name)
    return record, record.unlock(passphrase)


def unlock_issuer_in_background(name: str) -> tuple[keystore.IssuerKey, Future[bytes]]:
    """The issuer's record now (its passphrase asked now, if it must be), and its private key being
    decrypted in a thread: scrypt takes about half a second and releases the GIL, so the caller
    goes on meanwhile (loading the chain libraries). The thread imports nothing: eth-account,
    imported there while the caller imports it too, deadlocked on its modules' import locks. The
    future raises WrongPassphrase as `unlock` does; `Account.from_key` makes the account."""
    record, passphrase = _issuer_record(name)
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="unlock")
    try:
        return record, pool.submit(record.private_key, passphrase)
    finally:
        pool.shutdown(wait=False)  # takes no more work; its one thread ends with the unlock


def _issuer_record(name: str) -> tuple[keystore.IssuerKey, str]:
    from certifier.keys import keystore

    record = keystore.load(name)
    if record.issuer_id is None:
        click.echo(
            f"warning: issuer {name!r} is not accredited on chain; the registry will refuse its anchors", err=True
        )
    return record, ask_passphrase()


def verifier_url() -> str | None:
    """The public verifier's base URL (``SCEAU_VERIFIER_URL``): seals then hold a link any phone
    camera opens; without it, the bare SC1: text."""
    from certifier.settings import Settings

    return Settings.from_env().verifier_url


def default_rpc_url() -> str:
    """Where `sceau verify` reads the chain when not told (``SCEAU_RPC_URL``, else the local chain)."""
    from certifier.chain.localchain import effective_rpc_url

    return effective_rpc_url()


@contextmanager
def _service_resources() -> Iterator[ServiceContext]:
    """The service's database and chain, closed when the command ends."""
    from certifier.chain.localchain import effective_rpc_url
    from certifier.config import home
    from certifier.service.context import ServiceContext
    from certifier.settings import Settings

    ctx = ServiceContext.create(
        settings=Settings.from_env(),
        db_url=None,
        rpc_url=effective_rpc_url(),
        storage=Path(os.environ.get("SCEAU_STORAGE") or home() / "documents"),
    )
    try:
        yield ctx
    finally:
        ctx.dispose()


def service_context() -> ServiceContext:
    """The service context for this command, closed by click when the command ends."""
    return click.get_current_context().with_resource(_service_resources())
