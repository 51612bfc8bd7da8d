"""The console's pages about one document: what it is and where it stands, revoking it (after a
confirmation step), and downloading its receipt, credential and certified PDF. Registered on the
console's blueprint (console.py), behind its login, CSRF and security headers."""

from __future__ import annotations

from flask import Response, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from certifier.service.console import REASONS, bp, ctx, lang, logged_in, say
from certifier.service.resources import own_document, receipt_of
from certifier.store.db import Batch, Document, Revocation
from certifier.store.documents import Conflict, queue_revocations
from certifier.store.states import DocumentStatus
from verifier.chain import Reason
from verifier.core.messages import REASONS as REASON_WORDS
from verifier.core.messages import day_of, message


def _own(doc_id: str) -> Document:
    doc = own_document(g.session, g.token, doc_id)
    if doc is None:
        abort(404)
    return doc


def _download(data: str | bytes, mimetype: str, name: str) -> Response:
    return Response(data, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/documents/<doc_id>/revoke")
@logged_in
def confirm_revoke(doc_id: str) -> ResponseReturnValue:
    """The confirmation step: what will be revoked, why, and that it cannot be undone."""
    doc = _own(doc_id)
    reason = request.args.get("reason", "")
    if reason not in REASONS:
        flash(say("choose_reason", name=doc.filename or doc.id), "error")
        return redirect(url_for("console.home"))
    return render_template("console/revoke.html", issuer=g.token.issuer, doc=doc, reason=reason)


@bp.post("/documents/<doc_id>/revoke")
@logged_in
def revoke(doc_id: str) -> ResponseReturnValue:
    doc = _own(doc_id)
    if "revoke" not in g.token.scopes.split(","):
        flash(say("no_revoke"), "error")
        return redirect(url_for("console.home"))
    reason_slug = request.form.get("reason", "")
    if reason_slug not in REASONS:
        flash(say("choose_reason", name=doc.filename or doc.id), "error")
        return redirect(url_for("console.home"))
    if request.form.get("confirm") != "yes":
        return redirect(url_for("console.confirm_revoke", doc_id=doc.id, reason=reason_slug))
    try:
        reason = Reason.from_slug(reason_slug)
        queue_revocations(g.session, g.token.issuer, [doc], reason, None, actor=f"console:{g.token.id}")
        g.session.commit()
        words = REASON_WORDS.get(reason.slug, {}).get(lang(), reason.slug)
        flash(say("queued", name=doc.filename or doc.id, reason=words), "ok")
    except (ValueError, Conflict) as exc:
        g.session.rollback()
        current_app.logger.info("console revocation of %s refused: %s", doc.id, exc)
        flash(say("revoke_refused", name=doc.filename or doc.id), "error")
    return redirect(url_for("console.home"))


@bp.get("/documents/<doc_id>")
@logged_in
def document(doc_id: str) -> ResponseReturnValue:
    """One document: where it stands, its validity (the last valid day, inclusive), its batch."""
    doc = _own(doc_id)
    batch = g.session.get(Batch, doc.batch_id) if doc.batch_id else None
    revocation = g.session.get(Revocation, doc.revocation_id) if doc.revocation_id else None
    language = lang()
    if doc.valid_until:
        validity = message("validity.until", {"last_day": doc.valid_until}, language)
    else:
        validity = message("validity.forever", {}, language)
    revoked = None
    if revocation is not None:
        slug = Reason.slug_of(revocation.reason)
        revoked = say("revoked_for", reason=REASON_WORDS.get(slug, {}).get(language, slug))
    return render_template(
        "console/document.html",
        issuer=g.token.issuer,
        doc=doc,
        batch=batch,
        validity=validity,
        valid_from=day_of(doc.valid_from, language) if doc.valid_from else "",
        revoked=revoked,
        reasons=REASONS,
        scopes=g.token.scopes.split(","),
    )


@bp.get("/documents/<doc_id>/receipt")
@logged_in
def receipt(doc_id: str) -> ResponseReturnValue:
    doc = _own(doc_id)
    if doc.status != DocumentStatus.confirmed:
        abort(404)
    return _download(
        receipt_of(ctx(), g.session, doc).to_json(), "application/json", f"{doc.filename or doc.id}.receipt.json"
    )


@bp.get("/documents/<doc_id>/credential")
@logged_in
def credential(doc_id: str) -> ResponseReturnValue:
    """The document's Verifiable Credential, as `FILE.credential.json` (CREDENTIAL.md §1)."""
    from verifier.credentials.verify import MEDIA_TYPE

    doc = _own(doc_id)
    if not doc.wants_credential:
        abort(404)
    if doc.status != DocumentStatus.confirmed or doc.credential is None:
        return render_template("console/problem.html", problem=say("credential_not_ready")), 409
    return _download(doc.credential, MEDIA_TYPE, f"{doc.filename or doc.id}.credential.json")


@bp.get("/documents/<doc_id>/certified.pdf")
@logged_in
def certified(doc_id: str) -> ResponseReturnValue:
    from certifier.service.certified_copies import certified_copy

    doc = _own(doc_id)
    try:
        data = certified_copy(ctx(), g.session, doc)
    except Conflict as exc:
        current_app.logger.info("no certified copy of %s: %s", doc.id, exc)
        abort(409)
    stem = (doc.filename or doc.id).removesuffix(".pdf")
    return _download(data, "application/pdf", f"{stem}.certified.pdf")
