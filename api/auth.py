"""
Accounts: sign-up, session login/logout for the browser, and API tokens for everything else.

The session endpoints enforce CSRF even for anonymous callers (DRF only checks it for users it
authenticated by session), so a foreign page cannot sign a browser into an attacker's account.
A fresh browser gets its `csrftoken` cookie from GET auth/me/ or GET auth/csrf/.

Sign-in and sign-up are throttled (api/throttles.py): per client IP and per username on login
and token, per IP on signup; past a limit they answer 429 with Retry-After, without hashing.

Ending a credential ends its live sockets: logout() and deleting the token are seen by
realtime.cluster.signals (Django's user_logged_out, Token's post_delete), which closes the sockets
that session or token admitted with 4001 and deletes the socket tickets it asked for.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate, get_user_model, login, logout
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest, HttpResponse
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import ensure_csrf_cookie
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.authentication import CSRFCheck, SessionAuthentication, TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from api.base import InkroomApi
from api.schema import errors
from api.serializers import ErrorSerializer, UserSerializer
from api.throttles import LoginThrottle, SignupThrottle, login_succeeded
from api.tokens import token_issue, token_revoke
from board import services
from board.access import session_credential, token_credential

#: The 429 of the throttled endpoints (api/throttles.py).
THROTTLED = {
    429: OpenApiResponse(
        ErrorSerializer,
        description="`throttled`: too many attempts from this address (or, signing in, for this "
        "username); `Retry-After` says when to try again.",
    )
}


def enforce_csrf(request: Request) -> None:
    """
    Run Django's CSRF check on a request DRF would otherwise exempt.
    """

    def no_response(_: HttpRequest) -> HttpResponse:
        return HttpResponse()

    check = CSRFCheck(no_response)
    check.process_request(request)
    reason = check.process_view(request, no_response, (), {})
    if reason:
        raise exceptions.PermissionDenied(f"CSRF Failed: {reason}")


def request_credential(request: Request) -> str | None:
    """
    The fingerprint (board.access) of the credential that authenticated `request`: its API
    token or its session. None for anything else (tests' forced authentication).

    A socket ticket carries it, so that revoking the credential also voids its unused tickets
    and closes the sockets they opened.
    """
    authenticator = request.successful_authenticator
    if isinstance(authenticator, TokenAuthentication) and isinstance(request.auth, Token):
        return token_credential(request.auth.key)
    if isinstance(authenticator, SessionAuthentication):
        key = request._request.session.session_key
        return session_credential(key) if key else None
    return None


class CredentialsSerializer(serializers.Serializer[Any]):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, trim_whitespace=False, write_only=True)


class SignupSerializer(CredentialsSerializer):
    def validate_username(self, value: str) -> str:
        username_field = get_user_model()._meta.get_field("username")
        try:
            username_field.run_validators(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(list(exc.messages)) from exc
        if get_user_model().objects.filter(username__iexact=value).exists():
            raise serializers.ValidationError("This username is taken.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        user = get_user_model()(username=attrs["username"])
        try:
            validate_password(attrs["password"], user=user)
        except DjangoValidationError as exc:
            raise serializers.ValidationError({"password": list(exc.messages)}) from exc
        return attrs


def _authenticate(request: Request, data: Any) -> Any:
    credentials = CredentialsSerializer(data=data)
    credentials.is_valid(raise_exception=True)
    user = authenticate(
        request._request,
        username=credentials.validated_data["username"],
        password=credentials.validated_data["password"],
    )
    if user is None:
        raise exceptions.AuthenticationFailed("Wrong username or password.")
    login_succeeded(request._request)  # only failures count against the username
    return user


class SignupApi(InkroomApi):
    """
    Create an account with a username and password and sign the browser in.
    """

    permission_classes = [AllowAny]
    authentication_classes: list[type] = []
    throttle_classes = [SignupThrottle]

    @extend_schema(
        tags=["auth"],
        request=SignupSerializer,
        responses={201: UserSerializer, **errors(400, 403, 413, 415), **THROTTLED},
        summary="Create an account and sign in (session)",
    )
    def post(self, request: Request) -> Response:
        enforce_csrf(request)
        serializer = SignupSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.user_signup(**serializer.validated_data)
        login(request._request, user, backend="django.contrib.auth.backends.ModelBackend")
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)


class LoginApi(InkroomApi):
    """
    Sign in with a username and password; the session cookie authenticates later calls.
    """

    permission_classes = [AllowAny]
    authentication_classes: list[type] = []
    throttle_classes = [LoginThrottle]

    @extend_schema(
        tags=["auth"],
        request=CredentialsSerializer,
        responses={200: UserSerializer, **errors(400, 401, 403, 413, 415), **THROTTLED},
        summary="Sign in (session cookie)",
    )
    def post(self, request: Request) -> Response:
        enforce_csrf(request)
        user = _authenticate(request, request.data)
        login(request._request, user)
        return Response(UserSerializer(user).data)

    def get_authenticate_header(self, request: Request) -> str:
        # Wrong credentials are a 401 with a challenge, even though this view authenticates no one.
        return 'Session realm="inkroom"'


class LogoutApi(InkroomApi):
    """
    End the session (and with it the sockets it opened: realtime.cluster.signals).
    """

    @extend_schema(
        tags=["auth"],
        request=None,
        responses={204: None, **errors(401, 403)},
        summary="Sign out (ends the session)",
    )
    def post(self, request: Request) -> Response:
        logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


@method_decorator(ensure_csrf_cookie, name="dispatch")
class MeApi(InkroomApi):
    """
    Return the signed-in user; also sets the csrftoken cookie for a fresh browser.
    """

    @extend_schema(
        tags=["auth"],
        responses={200: UserSerializer, **errors(401)},
        summary="The signed-in user (also sets the csrftoken cookie)",
    )
    def get(self, request: Request) -> Response:
        return Response(UserSerializer(request.user).data)


@method_decorator(ensure_csrf_cookie, name="dispatch")
class CsrfApi(InkroomApi):
    """
    Set the csrftoken cookie (send it back as X-CSRFToken on unsafe requests).
    """

    permission_classes = [AllowAny]
    authentication_classes: list[type] = []

    @extend_schema(
        tags=["auth"],
        responses={204: None},
        summary="Set the csrftoken cookie for a fresh browser",
    )
    def get(self, request: Request) -> Response:
        return Response(status=status.HTTP_204_NO_CONTENT)


class TokenSerializer(serializers.Serializer[Any]):
    token = serializers.CharField(read_only=True)


class TokenApi(InkroomApi):
    """
    POST exchanges a username and password for the user's API token; DELETE revokes it.
    """

    def _obtaining(self) -> bool:
        # The schema generator builds views without a request.
        request = getattr(self, "request", None)
        return request is not None and request.method == "POST"

    def get_permissions(self) -> list[Any]:
        return [AllowAny()] if self._obtaining() else list(super().get_permissions())

    def get_authenticators(self) -> list[Any]:
        # Obtaining a token needs only the credentials in the body; an ambient session must not
        # turn it into a CSRF-checked request.
        return [] if self._obtaining() else super().get_authenticators()

    def get_throttles(self) -> list[Any]:
        # Only obtaining a token checks a password; revoking it is an ordinary call.
        return [LoginThrottle()] if self._obtaining() else list(super().get_throttles())

    @extend_schema(
        tags=["auth"],
        request=CredentialsSerializer,
        responses={200: TokenSerializer, **errors(400, 401, 413, 415), **THROTTLED},
        summary="Obtain the API token (Authorization: Token <token>)",
    )
    def post(self, request: Request) -> Response:
        user = _authenticate(request, request.data)
        return Response({"token": token_issue(user=user)})

    @extend_schema(
        tags=["auth"],
        responses={204: None, **errors(401, 403)},
        summary="Revoke the caller's API token",
    )
    def delete(self, request: Request) -> Response:
        # The token's sockets close on commit (realtime.cluster.signals, Token's post_delete).
        token_revoke(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def get_authenticate_header(self, request: Request) -> str:
        return "Token"
