"""Who may do what: `sceau accreditor add`, `sceau issuer create|suspend|list`, and the issuer
service's API tokens (`sceau token create|list|revoke`)."""

from __future__ import annotations

import os
from typing import Any

import click

from certifier.cli.options import emit, kinds_option, parse_date
from certifier.cli.resources import ask_passphrase, chain_w3, service_context
from certifier.keys import keystore
from verifier.core.kinds import mask_names


@click.group()
def accreditor() -> None:
    """Name accreditors (as the root authority)."""


@accreditor.command("add")
@click.argument("name")
@click.argument("address")
@kinds_option("accredit issuers for")
@click.option("--json", "as_json", is_flag=True)
def accreditor_add(name: str, address: str, kinds: tuple[str, ...], as_json: bool) -> None:
    """Name the account ADDRESS accreditor NAME, accredited for the given kinds (naming it again
    replaces its name and kinds)."""
    from certifier.chain.issuers import name_accreditor

    block = name_accreditor(chain_w3(), name, address, kinds)
    emit(
        as_json,
        {"name": name, "address": address, "kinds": list(kinds), "blockNumber": block},
        f"accreditor {name!r} ({address}) may accredit issuers for: {', '.join(kinds)}",
    )


@click.group()
def issuer() -> None:
    """Create, suspend and list issuers."""


@issuer.command("create")
@click.argument("name")
@kinds_option("certify")
@click.option("--id", "identifier", default=None, help="Official identifier (UAI code, SIREN…).")
@click.option("--no-accredit", is_flag=True, help="Fund the key but do not accredit it.")
@click.option(
    "--hsm",
    "hsm_token",
    default=None,
    metavar="TOKEN",
    help="Generate the key in this PKCS#11 token (an HSM; PIN from SCEAU_PKCS11_PIN or prompted).",
)
@click.option(
    "--pkcs11-module",
    default=None,
    help="The HSM's PKCS#11 library [default: SCEAU_PKCS11_MODULE, else SoftHSM2's].",
)
@click.option(
    "--keep-secret/--no-keep-secret",
    default=True,
    show_default=True,
    help="Keep the passphrase (or PIN) in $SCEAU_HOME/secrets.toml (0600) for the worker.",
)
@click.option("--json", "as_json", is_flag=True)
def issuer_create(
    name: str,
    kinds: tuple[str, ...],
    identifier: str | None,
    no_accredit: bool,
    hsm_token: str | None,
    pkcs11_module: str | None,
    keep_secret: bool,
    as_json: bool,
) -> None:
    """Create issuer NAME with a new key: in an encrypted keystore, or in an HSM with --hsm.

    The anchoring worker opens each issuer's key with its own secret, kept in
    $SCEAU_HOME/secrets.toml (readable by the service's user only); a passphrase equal to
    SCEAU_KEY_PASSPHRASE is not copied there. On the local dev chain the root authority funds the
    key and accredits it."""
    from certifier.chain.issuers import create_issuer
    from certifier.keys.custody import DEFAULT_PKCS11_MODULE, store_secret

    w3 = chain_w3()
    make_key = None
    secret: tuple[str, str] | None = None
    if hsm_token:
        from certifier.keys import hsm

        module = pkcs11_module or os.environ.get("SCEAU_PKCS11_MODULE") or DEFAULT_PKCS11_MODULE
        pin = os.environ.get("SCEAU_PKCS11_PIN") or click.prompt(f"PIN of token {hsm_token}", hide_input=True)
        label = f"sceau-{keystore.slug(name)}"

        def make_key(n: str, ident: str, k: tuple[str, ...]) -> keystore.IssuerKey:
            address = hsm.generate_key(module, hsm_token, pin, label)
            return keystore.create_hsm(n, ident, k, address, {"module": module, "token": hsm_token, "label": label})

        passphrase, secret = "", ("pin", pin) if pin != os.environ.get("SCEAU_PKCS11_PIN") else None
    else:
        passphrase = ask_passphrase(confirm=True)
        if passphrase != os.environ.get("SCEAU_KEY_PASSPHRASE"):
            secret = ("passphrase", passphrase)
    record = create_issuer(w3, name, kinds, identifier, passphrase, accredit=not no_accredit, make_key=make_key)
    if passphrase:  # its Ed25519 key for Verifiable Credentials, so the service can build them (CREDENTIAL.md §4)
        from certifier.keys.credential_keys import load_or_create

        load_or_create(record.name, passphrase)
    kept = store_secret(record.name, *secret) if secret and keep_secret else None
    emit(
        as_json,
        {
            "name": record.name,
            "address": record.address,
            "issuerId": record.issuer_id,
            "identifier": record.identifier,
            "kinds": list(record.kinds),
            "hsm": record.hsm,
            "secretKeptIn": str(kept) if kept else None,
        },
        f"issuer {record.name!r} key {record.address}"
        + (f" (in HSM token {hsm_token!r})" if hsm_token else "")
        + (f", accredited as issuer #{record.issuer_id}" if record.issuer_id else ", not accredited")
        + (f"; its secret is kept for the worker in {kept}" if kept else ""),
    )


@issuer.command("suspend")
@click.argument("name")
@click.option("--reason", required=True, help="Why (kept on chain).")
@click.option("--since", default=None, help="Back-date the suspension to this date-time (a compromise).")
def issuer_suspend(name: str, reason: str, since: str | None) -> None:
    """Suspend issuer NAME: anchors from then on stop counting."""
    from certifier.chain.issuers import suspend_issuer

    issuer_id = suspend_issuer(chain_w3(), name, reason, since=parse_date(since, end_of_day=False) if since else None)
    click.echo(f"issuer {name!r} (#{issuer_id}) suspended: {reason}")


@issuer.command("list")
@click.option("--json", "as_json", is_flag=True)
def issuer_list(as_json: bool) -> None:
    """List the issuers whose keys are here, with their status on chain."""
    from certifier.chain.issuers import list_issuers

    rows: list[dict[str, Any]] = []
    for record, info, balance in list_issuers(chain_w3()):
        rows.append(
            {
                "name": record.name,
                "identifier": record.identifier,
                "address": record.address,
                "issuerId": record.issuer_id,
                "kinds": mask_names(info.kinds) if info else list(record.kinds),
                "status": "not accredited" if info is None else ("suspended" if info.suspended else "accredited"),
                "accreditor": info.accreditor_name if info else None,
                "balanceWei": balance,
            }
        )
    text = (
        "\n".join(
            f"{r['name']:30} {r['status']:15} {r['address']}  {', '.join(r['kinds'])}  {r['balanceWei'] / 1e18:.4f} ETH"
            for r in rows
        )
        or "no issuers yet: create one with `sceau issuer create`"
    )
    emit(as_json, rows, text)


@click.group()
def token() -> None:
    """API tokens for the issuer service."""


@token.command("create")
@click.option("--issuer", "issuer_name", required=True)
@click.option("--scope", "scopes", default="issue,revoke,read", show_default=True, help="Comma-separated scopes.")
@click.option("--label", default=None, help="What the token is for.")
@click.option("--json", "as_json", is_flag=True)
def token_create(issuer_name: str, scopes: str, label: str | None, as_json: bool) -> None:
    """Create a token for ISSUER; the secret is printed once and stored only hashed."""
    from certifier.service.auth import create_token, parse_scopes

    record = keystore.load(issuer_name)
    ctx = service_context()
    with ctx.sessions() as s:
        row, secret = create_token(s, record.name, parse_scopes(scopes), label)
        s.commit()
    emit(
        as_json,
        {"id": row.id, "issuer": row.issuer, "scopes": row.scopes.split(","), "token": secret},
        f"token {row.id} for {row.issuer} ({row.scopes}):\n{secret}",
    )


@token.command("list")
@click.option("--json", "as_json", is_flag=True)
def token_list(as_json: bool) -> None:
    """List tokens (never their secrets)."""
    from sqlalchemy import select

    from certifier.store.db import Token

    with service_context().sessions() as s:
        rows: list[dict[str, Any]] = [
            {
                "id": t.id,
                "issuer": t.issuer,
                "scopes": t.scopes.split(","),
                "label": t.label,
                "revoked": t.revoked_at is not None,
            }
            for t in s.scalars(select(Token).order_by(Token.created_at))
        ]
    emit(
        as_json,
        rows,
        "\n".join(
            f"{r['id']}  {r['issuer']:30} {','.join(r['scopes']):20} {'revoked' if r['revoked'] else 'active'}"
            for r in rows
        )
        or "no tokens",
    )


@token.command("revoke")
@click.argument("token_id")
def token_revoke(token_id: str) -> None:
    """Revoke a token: every request with it is refused from now on."""
    from certifier.service.auth import revoke_token

    with service_context().sessions() as s:
        revoke_token(s, token_id)
        s.commit()
    click.echo(f"token {token_id} revoked")
