"""
Limits on password guessing and account creation (issue 15, finding 4).

Every sign-in costs a password hash (~0.3 s of CPU), and nothing bounded them: 20 wrong passwords
all got 401 and the right one then worked. Now, in Django's default cache (Redis when REDIS_URL is
set, so every pod counts together; config/cache.py):

* `login_ip`: sign-in attempts per client IP, all of them: the token, the session login and the
  Django admin's login form share one count (INKROOM_LOGIN_RATE_IP, default 30/min). Successful
  ones count too, since they cost the same CPU.
* `login_username`: sign-in attempts per username, from any IP (INKROOM_LOGIN_RATE_USERNAME,
  default 10/min). A success gives its attempt back, so only failures add up: a person signing
  in from several devices is never refused, a guesser is, and then every attempt for that
  username, the right password included, is refused until the window ends.
* `signup_ip`: sign-ups per client IP (INKROOM_SIGNUP_RATE_IP, default 20/hour). Not per
  username: a sign-up checks no password, and each names a new user.

Past a limit the API answers 429 `throttled` with Retry-After (DRF's Throttled), the admin login
a plain-text 429 with Retry-After; neither hashes the password.

Counts are fixed windows (the minute, hour... since the epoch) kept with the cache's atomic
add + incr, so concurrent attempts cannot all slip under the limit the way DRF's
read-modify-write SimpleRateThrottle lets them; a burst may straddle two windows, at most twice
the rate. The client IP is REMOTE_ADDR, or the entry TRUSTED_PROXY_COUNT hops from the end of
X-Forwarded-For (DRF's NUM_PROXIES, see config/settings.py); an IPv6 client counts by its /64,
which one subscriber usually holds whole.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.urls import reverse
from django.utils.deprecation import MiddlewareMixin
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle
from rest_framework.views import APIView

LOGIN_IP = "login_ip"
LOGIN_USERNAME = "login_username"
SIGNUP_IP = "signup_ip"

#: Where a request keeps the cache key of its username attempt, to give it back on success.
_ATTEMPT_ATTR = "_inkroom_login_attempt"
_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def now() -> float:
    """
    The clock of every window (tests replace it).
    """
    return time.time()


@dataclass(frozen=True)
class Hit:
    """
    One counted attempt: the window's cache key, its count so far, and the window's limit.
    """

    key: str
    count: int
    limit: int
    retry_after: float

    @property
    def allowed(self) -> bool:
        return self.count <= self.limit


def parse_rate(rate: str) -> tuple[int, int]:
    """
    Return (requests, seconds) of a DRF rate such as "10/min" (config.env.env_rate checked it).
    """
    number, period = rate.split("/")
    return int(number), _PERIODS[period.strip()[0]]


def count(scope: str, ident: str) -> Hit | None:
    """
    Count one attempt of `ident` in `scope`'s current window; None when the scope has no rate.
    """
    rate: object = api_settings.DEFAULT_THROTTLE_RATES.get(scope)
    if not isinstance(rate, str) or not rate:
        return None
    limit, seconds = parse_rate(rate)
    moment = now()
    window = int(moment // seconds)
    key = f"throttle:{scope}:{ident}:{window}"
    # add() is SET NX: the first attempt of the window creates the counter, incr() is atomic.
    # The counter outlives its window by a second, so no attempt of the window finds it gone.
    cache.add(key, 0, timeout=seconds + 1)
    try:
        number = cache.incr(key)
    except ValueError:  # evicted between add and incr
        cache.set(key, 1, timeout=seconds + 1)
        number = 1
    return Hit(key=key, count=number, limit=limit, retry_after=(window + 1) * seconds - moment)


def client_ip(request: HttpRequest) -> str:
    """
    The address counted for `request`: DRF's get_ident (REMOTE_ADDR, or X-Forwarded-For as far as
    NUM_PROXIES trusts it), an IPv6 address reduced to its /64.
    """
    # get_ident reads only META and headers, which a Django request has as well as DRF's.
    ident = BaseThrottle().get_ident(request)  # type: ignore[arg-type]
    try:
        address = ipaddress.ip_address(ident)
    except ValueError:
        return str(ident or "unknown")
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{address}/64", strict=False))
    return str(address)


def _username_ident(username: str) -> str:
    # Hashed: bounded key length whatever the body held, and no usernames in Redis.
    return hashlib.sha256(username.casefold().encode()).hexdigest()[:32]


def ip_attempt(request: HttpRequest, scope: str) -> float | None:
    """
    Count an attempt from the client IP; return None if it may go ahead, else seconds to wait.
    """
    hit = count(scope, client_ip(request))
    return None if hit is None or hit.allowed else hit.retry_after


def username_attempt(request: HttpRequest, username: object) -> float | None:
    """
    Count a sign-in attempt for `username` (if it is a non-empty string); None if it may go
    ahead, else seconds to wait. login_succeeded(request) gives the attempt back.
    """
    if not isinstance(username, str) or not username:
        return None
    hit = count(LOGIN_USERNAME, _username_ident(username))
    if hit is None:
        return None
    setattr(request, _ATTEMPT_ATTR, hit.key)
    return None if hit.allowed else hit.retry_after


def login_attempt(request: HttpRequest, username: object) -> float | None:
    """
    Count a sign-in attempt by IP, then by username; None if it may go ahead, else seconds to
    wait. An attempt refused by IP does not count against the username.
    """
    wait = ip_attempt(request, LOGIN_IP)
    return wait if wait is not None else username_attempt(request, username)


def login_succeeded(request: HttpRequest) -> None:
    """
    Give back the username attempt of a sign-in that succeeded (only failures add up).
    """
    key = getattr(request, _ATTEMPT_ATTR, None)
    if key is None:
        return
    delattr(request, _ATTEMPT_ATTR)
    with contextlib.suppress(ValueError):  # the window ended meanwhile, and its counter with it
        cache.decr(key)


def _username(request: Request) -> object:
    data = request.data
    return data.get("username") if isinstance(data, Mapping) else None


class LoginThrottle(BaseThrottle):
    """
    DRF throttle of auth/login/ and POST auth/token/: login_ip, then login_username.
    """

    def __init__(self) -> None:
        self._wait: float | None = None

    def allow_request(self, request: Request, view: APIView) -> bool:
        # By IP first, before the body is parsed: a malformed body counts too.
        self._wait = ip_attempt(request._request, LOGIN_IP)
        if self._wait is None:
            self._wait = username_attempt(request._request, _username(request))
        return self._wait is None

    def wait(self) -> float | None:
        return self._wait


class SignupThrottle(BaseThrottle):
    """
    DRF throttle of auth/signup/: signup_ip.
    """

    def __init__(self) -> None:
        self._wait: float | None = None

    def allow_request(self, request: Request, view: APIView) -> bool:
        self._wait = ip_attempt(request._request, SIGNUP_IP)
        return self._wait is None

    def wait(self) -> float | None:
        return self._wait


def too_many_attempts(wait: float) -> HttpResponse:
    """
    The admin login's 429: plain text, with Retry-After in whole seconds.
    """
    seconds = max(1, math.ceil(wait))
    response = HttpResponse(
        f"Too many sign-in attempts. Try again in {seconds} seconds.\n",
        status=429,
        content_type="text/plain; charset=utf-8",
    )
    response["Retry-After"] = str(seconds)
    response["Cache-Control"] = "no-store"
    return response


class AdminLoginThrottleMiddleware(MiddlewareMixin):
    """
    The same sign-in limits on the Django admin's login form (POST admin:login), which is not a
    DRF view. A successful admin login redirects (302); only then is the username attempt given
    back.
    """

    def process_request(self, request: HttpRequest) -> HttpResponseBase | None:
        if request.method != "POST" or request.path_info != reverse("admin:login"):
            return None
        wait = login_attempt(request, request.POST.get("username"))
        return None if wait is None else too_many_attempts(wait)

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if 300 <= response.status_code < 400 and request.path_info == reverse("admin:login"):
            login_succeeded(request)
        return response


class PerCallerRateThrottle(SimpleRateThrottle):
    """
    A rate per caller: the user, or the client IP for anonymous link holders (DRF's `get_ident`:
    REMOTE_ADDR, or X-Forwarded-For with REST_FRAMEWORK NUM_PROXIES). Subclasses name the
    `scope` and read their rate from a setting (`get_rate`).
    """

    def get_cache_key(self, request: Request, view: APIView) -> str:
        user = request.user
        ident = f"user-{user.pk}" if user.is_authenticated else f"ip-{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
