"""Sign-in (username and password, or an API key), sign-out, the home page and the language."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from serving import crud
from serving.auth import ADMIN_BOOTSTRAP_KEY_ID, same_secret
from serving.console.access import (
    ConsoleCallerDep,
    FormDep,
    console_session,
    replace_session,
)
from serving.console.i18n import LANGUAGES
from serving.console.pages import home_path
from serving.console.rendering import (
    LANG_COOKIE_SECONDS,
    redirect,
    render,
    safe_next,
    translator,
)
from serving.console.sessions import LANG_COOKIE
from serving.console.users import authenticate
from serving.deps import SessionDep, SettingsDep

router = APIRouter(prefix="/console", include_in_schema=False)


@router.get("")
@router.get("/")
def home(request: Request, caller: ConsoleCallerDep) -> Response:
    """The caller's first page, or a welcome page when its role has none yet."""
    target = home_path(caller)
    if target is not None:
        return redirect(request, target)
    return render(request, "welcome.html")


@router.get("/signin")
def signin_page(
    request: Request, next: Annotated[str | None, Query(max_length=500)] = None
) -> Response:
    """The sign-in form."""
    return render(request, "signin.html", next=safe_next(next), error=None, notice=None)


@router.post("/signin")
def signin(request: Request, form: FormDep, session: SessionDep,
           settings: SettingsDep) -> Response:
    """Sign in with username and password, or with an API key; a new session on success."""
    t = translator(request)
    target = safe_next(form.get("next") or None)
    api_key = form.get("api_key")
    subject: str | None = None
    error = None
    if api_key:
        if settings.admin_api_key and same_secret(api_key,
                                                  settings.admin_api_key.get_secret_value()):
            subject = f"key:{ADMIN_BOOTSTRAP_KEY_ID}"
        else:
            caller = crud.caller_for_key(session, api_key)
            subject = f"key:{caller.key_id}" if caller else None
        error = None if subject else t("signin.bad_key")
    else:
        user = authenticate(session, form.get("username"), form.fields.get("password", ""))
        subject = f"user:{user.id}" if user else None
        error = None if subject else t("signin.failed")
    session.rollback()
    if subject is None:
        return render(request, "signin.html", status_code=401, next=target, error=error,
                      notice=None, username=form.get("username"))
    replace_session(request, console_session(request).signed_in(subject))
    return redirect(request, target)


@router.post("/signout")
def signout(request: Request, _form: FormDep) -> Response:
    """End the session: the browser gets a fresh anonymous one."""
    replace_session(request, console_session(request).anonymous())
    return render(request, "signin.html", next="/console", error=None,
                  notice=translator(request)("signin.signed_out"))


@router.get("/lang/{code}")
def switch_language(
    request: Request, code: str, next: Annotated[str | None, Query(max_length=500)] = None
) -> Response:
    """Remember language `code` (en or zh) and go back to the page."""
    response = redirect(request, safe_next(next))
    if code in LANGUAGES:
        response.set_cookie(LANG_COOKIE, code, max_age=LANG_COOKIE_SECONDS, path="/console",
                            httponly=True, samesite="lax")
    return response
