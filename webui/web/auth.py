"""Signing in and out, and the user's own profile (language)."""
from __future__ import annotations

from flask import g, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.errors import InvalidInput, NotAuthenticated, TooManyAttempts
from engine.i18n import LANGUAGES
from engine.services import users

from ..i18n import LANGUAGE_COOKIE, current_language
from . import SESSION_COOKIE, bp, engine, login_required
from .util import safe_path


def _secure_cookies() -> bool:
    """HTTPS only in production (also behind a proxy that ends TLS), or whenever the request came over HTTPS."""
    return request.is_secure or engine().settings.is_production


def _safe_next(target: str | None) -> str:
    return safe_path(target)


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        language = request.form.get("language")
        try:
            token, actor = users.login(engine(), request.form.get("username", ""), request.form.get("password", ""),
                                       origin=request.remote_addr, kind="web",
                                       user_agent=request.headers.get("User-Agent"))
        except TooManyAttempts:
            error = _("Too many failed sign-ins; wait 15 minutes and try again.")
        except NotAuthenticated:
            error = _("Wrong username or password.")
        else:
            if language in LANGUAGES and language != actor.language:
                actor = users.set_language(engine(), actor, language)
            response = make_response(redirect(_safe_next(request.form.get("next"))))
            response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="Lax", secure=_secure_cookies(),
                                max_age=engine().settings.token_ttl_hours * 3600)
            response.set_cookie(LANGUAGE_COOKIE, actor.language, samesite="Lax", max_age=365 * 86400, httponly=True,
                                secure=_secure_cookies())
            return response
    page = render_template("login.html", error=error, next=request.values.get("next", ""),
                           chosen=current_language())
    return page, 401 if error else 200


@bp.post("/logout")
@login_required
def logout():
    users.logout(engine(), g.session_token)
    response = make_response(redirect(url_for("web.login")))
    response.delete_cookie(SESSION_COOKIE)
    return response


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    saved = False
    error = None
    if request.method == "POST":
        try:
            g.actor = users.set_language(engine(), g.actor, request.form.get("language", ""))
            g.pop("language", None)
            saved = True
        except InvalidInput:
            error = _("Choose one of the languages in the list.")
    response = make_response(_profile_page(saved=saved, error=error))
    if saved:
        response.set_cookie(LANGUAGE_COOKIE, g.actor.language, samesite="Lax", max_age=365 * 86400, httponly=True,
                            secure=_secure_cookies())
    return response


def _profile_page(**context):
    sessions = users.list_sessions(engine(), g.actor, g.session_token)
    return render_template("profile.html", sessions=sessions, idle_minutes=engine().settings.session_idle_minutes,
                           **context)


@bp.post("/profile/sessions/<session_id>/end")
@login_required
def end_session(session_id):
    users.end_session(engine(), g.actor, session_id)
    return redirect(url_for("web.profile", ended=1))


@bp.post("/profile/sessions/end-others")
@login_required
def end_other_sessions():
    users.end_other_sessions(engine(), g.actor, g.session_token)
    return redirect(url_for("web.profile", ended=1))
