"""The HTML app: server-rendered pages over the same engine services as the JSON API.

Sessions are server-side: the cookie holds a random token whose digest is a row of ``api_tokens``; signing out
revokes the row, so a copied cookie stops working at once. Every form POST carries a CSRF token derived from
the session token. Pages work without JavaScript.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import hmac

from flask import Blueprint, abort, current_app, g, redirect, request, url_for

from engine.errors import NotAuthenticated
from engine.services import users
from engine.services.inputs import text_problem

bp = Blueprint("web", __name__, template_folder="../templates", static_folder="../static",
               static_url_path="/static")
SESSION_COOKIE = "yordam_session"
SUPERVISING = ("supervisor", "center_head")


def engine():
    return current_app.extensions["yordam"]


def session_token() -> str | None:
    return request.cookies.get(SESSION_COOKIE)


def csrf_token() -> str:
    token = session_token() or ""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, b"csrf:" + token.encode(), hashlib.sha256).hexdigest()[:40]


@bp.before_app_request
def _load_actor():
    if request.path.startswith("/api/") or request.blueprint == "health":
        return
    token = session_token()
    if token:
        try:
            g.actor = dataclasses.replace(users.authenticate(engine(), token), origin=request.remote_addr)
            g.session_token = token
        except NotAuthenticated:
            g.actor = None


@bp.before_request
def _refuse_text_no_database_keeps():
    """A NUL or an unpaired surrogate in a query or a form is no one's real input, and no database takes it:
    refused before any page reads it, so filters and forms never meet it."""
    values = list(request.args.values()) + (list(request.form.values()) if request.method == "POST" else [])
    if any(text_problem(v) for v in values if isinstance(v, str)):
        abort(400, "The request contains characters that are not valid text.")


@bp.before_request
def _check_csrf():
    if request.method != "POST":
        return
    refused = "The form expired or did not come from this site; reload the page and try again."
    actor = g.get("actor")
    if request.endpoint == "web.login" and (actor is None or request.form.get("username") == actor.username):
        # Nobody is signed in (no session to derive a token from), or the same person signs in again. A sign-in
        # posted from another site, putting this browser in somebody else's account, is refused by the
        # browser's word (Sec-Fetch-Site); switching a signed-in browser to another account needs the token.
        if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
            abort(400, refused)
        return
    sent = request.form.get("csrf_token", "")
    if not session_token() or not hmac.compare_digest(sent, csrf_token()):
        abort(400, refused)


def login_required(view):
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if not g.get("actor"):
            return redirect(url_for("web.login", next=request.full_path if request.args else request.path))
        return view(*args, **kwargs)
    return wrapped


@bp.app_context_processor
def _globals():
    return {"actor": g.get("actor"), "csrf_token": csrf_token, "SUPERVISING": SUPERVISING}


from . import (auth, breakglass, case_file, cases, dashboard, documents, reports, statistics,  # noqa: E402,F401
               tasks, workbench)  # (routes register themselves on bp)
