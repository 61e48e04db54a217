"""
Content-Security-Policy on every HTML response (issue 15, finding 9).

Django 5.2 has no CSP support of its own and django-csp would be a dependency for one header, so
this middleware adds it. The pages are shells around one bundle (frontend/templates): no inline
script, no inline event handler, no eval in the bundle, no inline <style>. So scripts and
stylesheets come only from our origin, and nothing may frame the pages or post forms elsewhere.

Two relaxations, each narrower than 'unsafe-inline' for everything:

* `style-src-attr 'unsafe-inline'`: the board's presence list colours each person's chip with a
  `style` attribute set from the bundle (frontend/src/ui/board-ui.ts, `h("button", {style})`).
  Setting `el.style.background` instead (CSSOM, which CSP does not restrict) lets this go. Style
  attributes cannot run script; <style> elements and stylesheets stay restricted.
* Swagger UI (/api/docs/, drf-spectacular's SpectacularSwaggerView) renders its configuration as
  an inline script and an inline <style>; that page alone gets 'unsafe-inline' for both.
  drf-spectacular's SpectacularSwaggerSplitView serves the script from a URL instead.

Django's DEBUG error pages (technical 404/500) are made of inline script and style; with DEBUG on,
error responses go out without the header so that they stay readable.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponseBase
from django.utils.deprecation import MiddlewareMixin
from drf_spectacular.views import SpectacularSwaggerView

#: The policy of every HTML page; `{ws}` becomes the page's own ws:// or wss:// origin.
POLICY = (
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "style-src-attr 'unsafe-inline'",
    # data: for the favicon (an inline SVG in base.html) and Swagger UI's icons.
    "img-src 'self' data:",
    "font-src 'self'",
    # CSP3 lets 'self' cover ws(s):// of the same host; browsers before it needed the origin.
    "connect-src 'self' {ws}",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
)
#: Views whose third-party template needs inline script and style (see the module docstring).
INLINE_VIEWS: tuple[type, ...] = (SpectacularSwaggerView,)
_INLINE = {
    "script-src 'self'": "script-src 'self' 'unsafe-inline'",
    "style-src 'self'": "style-src 'self' 'unsafe-inline'",
}


def content_security_policy(request: HttpRequest) -> str:
    """
    Return the Content-Security-Policy header value for an HTML response to `request`.
    """
    try:
        ws = f"{'wss' if request.is_secure() else 'ws'}://{request.get_host()}"
    except DisallowedHost:
        ws = ""  # the 400 for a Host outside ALLOWED_HOSTS: it has no socket to connect to
    inline = issubclass(_view_class(request), INLINE_VIEWS)
    directives = (_INLINE.get(d, d) if inline else d for d in POLICY)
    return "; ".join(d.format(ws=ws).strip() for d in directives)


def _view_class(request: HttpRequest) -> type:
    # Set by Django's URL resolver; absent when no route matched (a 404) or middleware answered.
    match = getattr(request, "resolver_match", None)
    view_class = getattr(getattr(match, "func", None), "view_class", None)
    return view_class if isinstance(view_class, type) else object


class ContentSecurityPolicyMiddleware(MiddlewareMixin):
    """
    Add Content-Security-Policy to HTML responses that do not carry one already.

    MiddlewareMixin makes it usable in both Django's sync and async chains.
    """

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if "Content-Security-Policy" in response:
            return response
        if not response.get("Content-Type", "").startswith("text/html"):
            return response
        if settings.DEBUG and response.status_code >= 400:
            return response  # Django's technical error pages: see the module docstring
        response["Content-Security-Policy"] = content_security_policy(request)
        return response
