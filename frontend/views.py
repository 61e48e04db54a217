"""
The browser pages: sign-in, sign-up, the board list and the board canvas.

The pages are shells around the bundle (frontend/static/frontend/dist/main.js), which talks to
the REST API and the board socket; the views only choose the template and guard sign-in.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.shortcuts import redirect, render
from django.urls import Resolver404, resolve
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.csrf import ensure_csrf_cookie

from board import services
from board.access import link_is_live, share_link_for_token
from board.exceptions import BoardNotFound, ShareLinkGone
from board.selectors import board_get_for_user

#: The palette offered on the board: (colour, accessible name); keys 1-6 pick the first six.
COLORS = [
    ("#1e1e1e", "black"),
    ("#e03131", "red"),
    ("#2f9e44", "green"),
    ("#1971c2", "blue"),
    ("#f08c00", "orange"),
    ("#9c36b5", "purple"),
    ("#ffffff", "white"),
]
#: Pen widths in world units, (value, accessible name).
WIDTHS = [(2, "thin"), (4, "medium"), (8, "thick"), (16, "extra thick")]


def _next_url(request: HttpRequest) -> str:
    target = request.GET.get("next", "/")
    allowed = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if allowed else "/"


@ensure_csrf_cookie
def login_page(request: HttpRequest) -> HttpResponse:
    """
    Render the sign-in form (posts to /api/v1/auth/login/ from the bundle).
    """
    if request.user.is_authenticated:
        return redirect(_next_url(request))
    context = {"mode": "login", "heading": "Sign in", "next": _next_url(request)}
    return render(request, "frontend/auth.html", context)


@ensure_csrf_cookie
def signup_page(request: HttpRequest) -> HttpResponse:
    """
    Render the sign-up form (posts to /api/v1/auth/signup/ from the bundle).
    """
    if request.user.is_authenticated:
        return redirect("/")
    context = {"mode": "signup", "heading": "Create account", "next": _next_url(request)}
    return render(request, "frontend/auth.html", context)


@ensure_csrf_cookie
@login_required
def board_list_page(request: HttpRequest) -> HttpResponse:
    """
    Render the signed-in user's board list.
    """
    return render(request, "frontend/boards.html")


@ensure_csrf_cookie
def board_page(request: HttpRequest, board_id: str) -> HttpResponse:
    """
    Render the canvas for one board.

    Access is decided by the socket and the API (role, share token, link access), not here:
    a share-link holder may be anonymous, and a missing board shows the socket's 4004 message.
    Without a session or share token there is nothing to try, so sign-in comes first. A share
    link is looked at here for two things only: a dead one that was the caller's only way in
    gets a page saying so (410), and a signed-in user's use of a live one is recorded.
    """
    share = request.GET.get("share")
    if not request.user.is_authenticated and not share:
        return redirect(f"/login/?{urlencode({'next': request.get_full_path()})}")
    if share:
        gone = _open_through_link(request, board_id, share)
        if gone is not None:
            return render(request, "frontend/link_gone.html", {"error": gone}, status=410)
    # The browser keeps each board's camera per user (canvas/camera-store.ts): "guest" for a
    # share-link holder without an account.
    user_key = str(request.user.pk) if request.user.is_authenticated else "guest"
    context = {"board_id": board_id, "user_key": user_key, "colors": COLORS, "widths": WIDTHS}
    return render(request, "frontend/board.html", context)


def _open_through_link(request: HttpRequest, board_id: str, token: str) -> ShareLinkGone | None:
    """
    Note a signed-in user's use of a live share link (it lists the board under "Shared with
    me"); return the error when the link was their only way in and it is dead.
    """
    try:
        access = board_get_for_user(board_id=board_id, user=request.user, share_token=token)
    except ShareLinkGone as error:
        return error
    except BoardNotFound:
        return None  # the socket says so (4004), as for any other missing board
    link = share_link_for_token(access.board, token)
    if link is not None and link_is_live(link):
        services.share_link_use_record(link=link, user=request.user)
    return None


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """
    An unknown path: a 404 page in the app's style, with a way back.

    It is the last route of frontend/urls.py, so it answers under DEBUG too (where Django would
    show its technical 404 and never call handler404), and it can be handler404 for an Http404
    raised elsewhere. Under /api/ the API answers JSON itself, before this route.

    Being a catch-all, it takes over CommonMiddleware's APPEND_SLASH redirect (which only fires
    when the path without the slash matches nothing): `/login` still goes to `/login/`.
    """
    if request.method in ("GET", "HEAD") and not request.path_info.endswith("/"):
        try:
            match = resolve(request.path_info + "/")
        except Resolver404:
            match = None
        if match and match.url_name != "not-found":
            query = request.META.get("QUERY_STRING", "")
            return HttpResponsePermanentRedirect(
                request.path + "/" + (f"?{query}" if query else "")
            )
    return render(request, "frontend/404.html", status=404)
