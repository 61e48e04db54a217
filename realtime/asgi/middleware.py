"""
Socket admission: who is connecting and with which role, before accept() (the origin check runs
before it, in realtime.asgi.origin).

At connect only, admission resolves the user (Django session cookie, `Authorization: Token <api
token>`, or a single-use `?token=` socket ticket), the board and the role (the rule of
board.access.resolve_role, including `?share=`), and stores them in scope["inkroom"] with the
fingerprint of the credential that admitted the socket (realtime.cluster.signals closes the socket
when that credential is revoked). `send` is passed through unwrapped: unlike channels'
AuthMiddlewareStack/SessionMiddleware, nothing here sits on the per-message path. A refused socket
is accepted and closed at once with 4000/4001/4004/4009 (browsers cannot read the status of a
refused upgrade) and gets no data; an error while resolving closes it with 1011, so a handshake is
never left hanging.

Admissions are batched, like the tick batches ops: the sockets that arrive while one batch is
being resolved go together in the next, in the process's admission thread (Admissions). On
PostgreSQL a batch is one statement that spends the tickets, finds the tokens' users, and reads
the users, boards, memberships and share links of every socket in it; sessions are read before
it in one more query, or from the cache with SESSION_ENGINE cached_db. A reconnect wave of
thousands of sockets therefore costs a few round trips per batch, not four queries and a thread
hop per socket. Anything unusual (a session that does not verify with the current secret, a
custom authentication backend, a ticket or token that fails next to a session cookie) is
resolved on its own exactly as Django would (admit), still in that thread.

Tickets stay single use in the database: the batch deletes their rows, and deleting the row is
the check, so of two sockets presenting the same ticket exactly one gets in, in every process,
and revoking a credential (deleting its tickets' rows) stops its unused tickets at once. A
Redis SET NX would take that check off the database but not the revocation, which would then
need a second store that every admission reads.

Like the API, admission never tells whether a board exists to a caller with no role on it: a
signed-in caller gets 4004 both for a board that does not exist and for one they may not open,
an anonymous caller 4001 for both.

The caps on sockets per user per board, per user and per board (protocol §1) are counted here,
per process: a socket counts from admission until its connection ends.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import weakref
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from http.cookies import CookieError, SimpleCookie
from importlib import import_module
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs

from django.conf import settings
from django.contrib.auth import (
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
    get_user,
    get_user_model,
)
from django.core.cache import caches
from django.db import connection, connections
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from board.access import (
    TicketClaim,
    read_socket_ticket,
    redeem_socket_ticket,
    resolve_role,
    session_credential,
    spend_socket_ticket,
    strongest,
    token_credential,
)
from board.models import Board, LinkAccess, Membership, Role, ShareLink, SocketTicket
from realtime.conf import realtime_settings
from realtime.wire.protocol import SUPPORTED_VERSIONS, CloseCode, valid_client_id

logger = logging.getLogger(__name__)

Scope = dict[str, Any]


def _query(scope: Scope) -> dict[str, str]:
    parsed = parse_qs(scope.get("query_string", b"").decode("latin1"), keep_blank_values=True)
    return {k: v[-1] for k, v in parsed.items()}


def _is_number(value: str) -> bool:
    """
    True for a decimal of ASCII digits: str.isdigit() alone also takes "²", which int() refuses.
    """
    return value.isascii() and value.isdigit()


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value).decode("latin1")
    return None


#: Who is connecting and the fingerprint of the credential that says so (board.access).
Caller = tuple[Any, str]
NOBODY: Caller = (None, "")


def _session_key(scope: Scope) -> str | None:
    raw = _header(scope, b"cookie")
    if not raw:
        return None
    try:
        cookie = SimpleCookie(raw)
    except CookieError:
        return None
    morsel = cookie.get(settings.SESSION_COOKIE_NAME)
    return None if morsel is None else morsel.value


def _session_user(scope: Scope) -> Caller:
    key = _session_key(scope)
    if key is None:
        return NOBODY
    engine = import_module(settings.SESSION_ENGINE)
    session = engine.SessionStore(key)
    user = get_user(SimpleNamespace(session=session))  # type: ignore[arg-type]
    return (user, session_credential(key)) if user.is_authenticated else NOBODY


def _token_user(scope: Scope, ticket: str | None, board_id: str) -> Caller:
    header = _header(scope, b"authorization")
    if header and header.startswith("Token "):
        from rest_framework.authtoken.models import Token

        token = Token.objects.select_related("user").filter(key=header[6:].strip()).first()
        if token is not None and token.user.is_active:
            return token.user, token_credential(token.key)
        return NOBODY
    if ticket:
        # Spent even if what follows refuses the socket: a ticket is good for one attempt.
        claim = redeem_socket_ticket(ticket, board_id=board_id)
        if claim is not None:
            user = get_user_model().objects.filter(pk=claim.user_id, is_active=True).first()
            if user is not None:
                return user, claim.credential
    return NOBODY


def admit(scope: Scope, board_id: str, query: dict[str, str]) -> dict[str, Any]:
    """
    Resolve user, board and role of one socket on its own (queries of its own); return
    scope["inkroom"] (with `refusal` set when refused). The batch (admit_batch) gives the same
    answers; this is what it falls back to.
    """
    user, credential = _token_user(scope, query.get("token"), board_id)
    if user is None:
        user, credential = _session_user(scope)
    return _resolved(scope, board_id, query, user, credential)


def _resolved(
    scope: Scope, board_id: str, query: dict[str, str], user: Any, credential: str
) -> dict[str, Any]:
    board = Board.objects.filter(pk=board_id).first()
    share = query.get("share") or None
    role = resolve_role(user, board, share) if board is not None else None
    if board is None or role is None:
        return _refusal(user is not None)
    return _info(
        query,
        user_id=user.pk if user else None,
        user_name=user.get_username() if user else "guest",
        credential=credential,
        board={"id": board.id, "title": board.title, "link_access": board.link_access},
        role=role,
    )


def _refusal(signed_in: bool) -> dict[str, Any]:
    # As the API answers 404 alike for "no such board" and "no role on it" (401 to anonymous
    # callers), so that a board's existence never leaks: 4004 or 4001, never 4003 here.
    return {"refusal": CloseCode.NOT_FOUND if signed_in else CloseCode.UNAUTHENTICATED}


def _info(
    query: dict[str, str],
    *,
    user_id: int | None,
    user_name: str,
    credential: str,
    board: dict[str, Any],
    role: Role,
) -> dict[str, Any]:
    client_id = query.get("client_id", "")
    return {
        "refusal": None,
        "user_id": user_id,
        "user_name": user_name,
        "credential": credential,
        "board": board,
        "role": str(role),
        "share": query.get("share") or None,
        "client_id": client_id if valid_client_id(client_id) else secrets.token_urlsafe(12),
    }


# --- batched admission ------------------------------------------------------------------------

#: Sockets resolved together at most: a batch's statement and its wait stay short.
ADMIT_BATCH_MAX = 256
_MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
_SESSION_DB = "django.contrib.sessions.backends.db"
_SESSION_CACHED_DB = "django.contrib.sessions.backends.cached_db"
_LINK_ROLE: dict[str, Role] = {LinkAccess.VIEW: Role.VIEWER, LinkAccess.EDIT: Role.EDITOR}


@dataclass(slots=True)
class Knock:
    """
    One socket asking to be admitted: what its handshake says, read on the loop.
    """

    scope: Scope
    board_id: str
    query: dict[str, str]
    #: The key of `Authorization: Token <key>`, if the header is there.
    token_key: str | None = None
    #: The session cookie's value, if any.
    session_key: str | None = None


def knock(scope: Scope, board_id: str, query: dict[str, str]) -> Knock:
    header = _header(scope, b"authorization")
    token_key = header[6:].strip() if header and header.startswith("Token ") else None
    return Knock(scope, board_id, query, token_key, _session_key(scope))


@dataclass(slots=True)
class Found:
    """
    What the batch's lookup found for one socket (None: no such row).
    """

    spent: bool = False
    #: (id, username, is_active, password hash)
    user: tuple[int, str, bool, str] | None = None
    #: (id, title, link_access, owner id)
    board: tuple[str, str, str, int] | None = None
    member_role: str | None = None
    #: (role, expires_at) of a live share link for the board with the socket's share token.
    share: tuple[str, datetime | None] | None = None


@dataclass(slots=True)
class _Ask:
    """
    The lookup one socket needs: the user it claims to be (a ticket's or a session's), or its
    API token; its ticket's nonce; its board and share token.
    """

    user_id: int | None
    nonce: str | None
    token_key: str | None
    board_id: str
    share: str | None


def admit_batch(knocks: Sequence[Knock]) -> list[dict[str, Any] | Exception]:
    """
    Admit many sockets at once (in the admission thread): scope["inkroom"] for each, or the
    exception that resolving it raised. Same answers as admit() per socket.
    """
    try:
        return _admit_batch(knocks)
    finally:
        # As the hub's reader jobs do: an idle thread must not keep one of the pool's connections.
        connections.close_all()


def _admit_batch(knocks: Sequence[Knock]) -> list[dict[str, Any] | Exception]:
    claims: list[TicketClaim | None] = []
    for k in knocks:
        ticket = None if k.token_key else k.query.get("token")
        claims.append(read_socket_ticket(ticket, board_id=k.board_id) if ticket else None)
    # A session is read up front only for sockets with nothing else (browsers); others fall
    # back to theirs one by one, as admit() does, should their token or ticket fail.
    by_session = [
        i for i, k in enumerate(knocks) if k.session_key and not k.token_key and not claims[i]
    ]
    sessions = _load_sessions([knocks[i].session_key or "" for i in by_session])
    session_uid: dict[int, int | None] = {
        i: _session_user_id(sessions.get(knocks[i].session_key or "")) for i in by_session
    }
    asks = [
        _Ask(
            user_id=claim.user_id if claim else session_uid.get(i),
            nonce=claim.nonce if claim else None,
            token_key=k.token_key,
            board_id=k.board_id,
            share=k.query.get("share") or None,
        )
        for i, (k, claim) in enumerate(zip(knocks, claims, strict=True))
    ]
    found = _lookup(asks)
    now = timezone.now()
    granted: set[str] = set()
    out: list[dict[str, Any] | Exception] = []
    for i, k in enumerate(knocks):
        try:
            out.append(_decide(k, claims[i], sessions, i in by_session, found[i], granted, now))
        except Exception as error:  # one socket's failure is its own (1011), not the batch's
            out.append(error)
    return out


def _decide(
    k: Knock,
    claim: TicketClaim | None,
    sessions: dict[str, dict[str, Any]],
    by_session: bool,
    found: Found,
    granted: set[str],
    now: datetime,
) -> dict[str, Any]:
    user = found.user if found.user is not None and found.user[2] else None
    credential = ""
    if k.token_key:
        credential = token_credential(k.token_key)
    elif claim is not None:
        # A ticket admits once, also when one batch holds it twice.
        if not found.spent or claim.nonce in granted:
            user = None
        granted.add(claim.nonce)
        credential = claim.credential
    elif by_session:
        session = sessions.get(k.session_key or "")
        if not session or SESSION_KEY not in session:
            user = None  # no session, or one that is not signed in: anonymous, as get_user says
        elif (
            user is None
            or _session_user_id(session) is None
            or not _session_verifies(session, found.user)
        ):
            # Unknown or inactive user, another backend, or not verified by the current
            # secret: let Django decide, fallback secrets and flushing the session included.
            return _resolved(k.scope, k.board_id, k.query, *_session_user(k.scope))
        credential = session_credential(k.session_key or "")
    else:
        user = None
    if user is None and k.session_key and not by_session:
        # The token or ticket did not admit: the session cookie may (admit()).
        return _resolved(k.scope, k.board_id, k.query, *_session_user(k.scope))
    board = found.board
    if board is None:
        return _refusal(user is not None)
    role = _role(user, board, found, now)
    if role is None:
        return _refusal(user is not None)
    return _info(
        k.query,
        user_id=user[0] if user else None,
        user_name=user[1] if user else "guest",
        credential=credential if user else "",
        board={"id": board[0], "title": board[1], "link_access": board[2]},
        role=role,
    )


def _role(
    user: tuple[int, str, bool, str] | None,
    board: tuple[str, str, str, int],
    found: Found,
    now: datetime,
) -> Role | None:
    """
    board.access.resolve_role from the rows the batch read.
    """
    if user is not None and board[3] == user[0]:
        return Role.OWNER
    share = found.share
    share_role = share[0] if share and (share[1] is None or share[1] > now) else None
    member = found.member_role if user is not None else None
    return strongest(member, share_role, _LINK_ROLE.get(board[2]))


def _session_user_id(session: dict[str, Any] | None) -> int | None:
    """
    The user id a session names, when it was signed in through the model backend (None for
    anything else, which goes through Django's get_user).
    """
    if not session or session.get(BACKEND_SESSION_KEY) != _MODEL_BACKEND:
        return None
    if _MODEL_BACKEND not in settings.AUTHENTICATION_BACKENDS:
        return None
    try:
        uid: int = get_user_model()._meta.pk.to_python(session[SESSION_KEY])
    except Exception:
        return None
    return uid


def _session_verifies(session: dict[str, Any], user: tuple[int, str, bool, str] | None) -> bool:
    """
    True when the session's hash is the user's with the current SECRET_KEY (django.contrib.auth
    get_user; the fallback keys are left to it).
    """
    stored = session.get(HASH_SESSION_KEY)
    if not stored or user is None:
        return False
    model = get_user_model()
    expected = model(pk=user[0], password=user[3]).get_session_auth_hash()
    return bool(constant_time_compare(stored, expected))


def _load_sessions(keys: list[str]) -> dict[str, dict[str, Any]]:
    """
    The data of the sessions with these keys (missing or expired ones left out): from the cache
    for cached_db, else one query for the db engine; other engines load one by one.
    """
    keys = [k for k in dict.fromkeys(keys) if len(k) >= 8]  # SessionBase's shortest valid key
    if not keys:
        return {}
    engine = settings.SESSION_ENGINE
    store = import_module(engine).SessionStore
    if engine not in (_SESSION_DB, _SESSION_CACHED_DB):
        return {k: d for k in keys if (d := store(k).load())}
    out: dict[str, dict[str, Any]] = {}
    if engine == _SESSION_CACHED_DB:
        session_cache = caches[settings.SESSION_CACHE_ALIAS]
        try:
            got = session_cache.get_many([store.cache_key_prefix + k for k in keys])
        except Exception:
            got = {}
        for k in keys:
            data = got.get(store.cache_key_prefix + k)
            if data is not None:
                out[k] = data
    missing = [k for k in keys if k not in out]
    if missing:
        decoder = store()
        rows = (
            store.get_model_class()
            .objects.filter(session_key__in=missing, expire_date__gt=timezone.now())
            .values_list("session_key", "session_data")
        )
        for key, data in rows:
            decoded = decoder.decode(data)
            if decoded:
                out[key] = decoded
    return out


def _lookup(asks: list[_Ask]) -> list[Found]:
    """
    Spend the tickets and read what each socket needs: one statement on PostgreSQL.
    """
    if connection.vendor == "postgresql":
        return _lookup_postgres(asks)
    return _lookup_orm(asks)


@cache
def _statement() -> str:
    user_model = get_user_model()
    q = connection.ops.quote_name

    def col(model: Any, name: str) -> str:
        return q(str(model._meta.get_field(name).column))

    pk = q(str(user_model._meta.pk.column))

    from rest_framework.authtoken.models import Token

    return f"""
        WITH req (k, uid, nonce, token, board, share) AS (
            SELECT * FROM unnest(
                %s::int[], %s::bigint[], %s::text[], %s::text[], %s::text[], %s::text[]
            )
        ),
        spent AS (
            DELETE FROM {q(SocketTicket._meta.db_table)} AS t USING req
            WHERE t.{col(SocketTicket, "nonce")} = req.nonce
              AND t.{col(SocketTicket, "user")} = req.uid
            RETURNING t.{col(SocketTicket, "nonce")} AS nonce
        ),
        who AS (
            SELECT req.k, req.nonce, req.board, req.share,
                   CASE WHEN req.token IS NULL THEN req.uid ELSE (
                       SELECT tk.{col(Token, "user")} FROM {q(Token._meta.db_table)} AS tk
                       WHERE tk.{col(Token, "key")} = req.token
                   ) END AS uid
            FROM req
        )
        SELECT who.k, who.nonce IN (SELECT nonce FROM spent),
               u.{pk}, u.{col(user_model, user_model.USERNAME_FIELD)},
               u.{col(user_model, "is_active")}, u.{col(user_model, "password")},
               b.{col(Board, "id")}, b.{col(Board, "title")}, b.{col(Board, "link_access")},
               b.{col(Board, "owner")}, m.{col(Membership, "role")},
               s.{col(ShareLink, "role")}, s.{col(ShareLink, "expires_at")}
        FROM who
        LEFT JOIN {q(user_model._meta.db_table)} AS u
               ON u.{pk} = who.uid
        LEFT JOIN {q(Board._meta.db_table)} AS b ON b.{col(Board, "id")} = who.board
        LEFT JOIN {q(Membership._meta.db_table)} AS m
               ON m.{col(Membership, "board")} = b.{col(Board, "id")}
              AND m.{col(Membership, "user")} = u.{pk}
        LEFT JOIN {q(ShareLink._meta.db_table)} AS s
               ON s.{col(ShareLink, "board")} = b.{col(Board, "id")}
              AND s.{col(ShareLink, "token")} = who.share
              AND s.{col(ShareLink, "revoked_at")} IS NULL
    """


def _lookup_postgres(asks: list[_Ask]) -> list[Found]:
    params: list[Any] = [
        list(range(len(asks))),
        [a.user_id for a in asks],
        [a.nonce for a in asks],
        [a.token_key for a in asks],
        [a.board_id for a in asks],
        [a.share for a in asks],
    ]
    with connection.cursor() as cursor:
        cursor.execute(_statement(), params)
        rows = cursor.fetchall()
    out = [Found() for _ in asks]
    for k, spent, uid, name, active, password, bid, title, link, owner, member, srole, sexp in rows:
        out[k] = Found(
            spent=bool(spent),
            user=(uid, name, bool(active), password) if uid is not None else None,
            board=(bid, title, link, owner) if bid is not None else None,
            member_role=member,
            share=(srole, sexp) if srole is not None else None,
        )
    return out


def _lookup_orm(asks: list[_Ask]) -> list[Found]:
    """
    _lookup_postgres with the ORM (SQLite): a few queries per batch, one per ticket.
    """
    from rest_framework.authtoken.models import Token

    spent = {
        a.nonce
        for a in asks
        if a.nonce is not None
        and a.user_id is not None
        and spend_socket_ticket(nonce=a.nonce, user_id=a.user_id)
    }
    keys = {a.token_key for a in asks if a.token_key}
    token_users = dict(Token.objects.filter(key__in=keys).values_list("key", "user_id"))
    uids = [token_users.get(a.token_key) if a.token_key else a.user_id for a in asks]
    user_model = get_user_model()
    users = {
        row[0]: row
        for row in user_model.objects.filter(pk__in={u for u in uids if u is not None}).values_list(
            "pk", user_model.USERNAME_FIELD, "is_active", "password"
        )
    }
    board_ids = {a.board_id for a in asks}
    boards = {
        row[0]: row
        for row in Board.objects.filter(pk__in=board_ids).values_list(
            "id", "title", "link_access", "owner_id"
        )
    }
    members = {
        (b, u): role
        for b, u, role in Membership.objects.filter(
            board_id__in=board_ids, user_id__in={u for u in uids if u is not None}
        ).values_list("board_id", "user_id", "role")
    }
    shares = {
        (b, t): (role, expires)
        for b, t, role, expires in ShareLink.objects.filter(
            token__in={a.share for a in asks if a.share}, revoked_at__isnull=True
        ).values_list("board_id", "token", "role", "expires_at")
    }
    out = []
    for a, uid in zip(asks, uids, strict=True):
        user = users.get(uid) if uid is not None else None
        out.append(
            Found(
                spent=a.nonce in spent,
                user=user,
                board=boards.get(a.board_id),
                member_role=members.get((a.board_id, uid)) if user and uid is not None else None,
                share=shares.get((a.board_id, a.share)) if a.share else None,
            )
        )
    return out


class Admissions:
    """
    The admission batches of one event loop (process): sockets that knock while a batch is
    being resolved wait together for the next one, in the admission thread.
    """

    def __init__(self) -> None:
        self.waiting: list[tuple[Knock, asyncio.Future[dict[str, Any]]]] = []
        self.busy = False
        #: One thread: batches run one at a time, so they grow by themselves under load.
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="inkroom-admit")
        self._task: asyncio.Task[None] | None = None

    async def admit(self, k: Knock) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[dict[str, Any]] = loop.create_future()
        self.waiting.append((k, done))
        if not self.busy:
            self.busy = True
            # On the next turn of the loop: the sockets whose handshakes came in the same read
            # go in this batch too.
            loop.call_soon(self._next)
        return await done

    def _next(self) -> None:
        if not self.waiting:
            self.busy = False
            return
        batch = self.waiting[:ADMIT_BATCH_MAX]
        del self.waiting[:ADMIT_BATCH_MAX]
        self._task = asyncio.get_running_loop().create_task(self._run(batch))

    async def _run(self, batch: list[tuple[Knock, asyncio.Future[dict[str, Any]]]]) -> None:
        loop = asyncio.get_running_loop()
        try:
            results = await loop.run_in_executor(self.executor, admit_batch, [k for k, _ in batch])
        except Exception as error:
            results = [error] * len(batch)
        finally:
            self._next()
        for (_, done), result in zip(batch, results, strict=True):
            if done.done():  # the socket went away meanwhile
                continue
            if isinstance(result, Exception):
                done.set_exception(result)
            else:
                done.set_result(result)


_admissions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Admissions] = (
    weakref.WeakKeyDictionary()
)


def get_admissions() -> Admissions:
    """
    The admission batches of the running event loop (one per process under Hypercorn).
    """
    loop = asyncio.get_running_loop()
    admissions = _admissions.get(loop)
    if admissions is None:
        admissions = _admissions[loop] = Admissions()
    return admissions


def _over(count: int, cap: int) -> bool:
    return 0 < cap <= count


@dataclass(slots=True)
class SocketTally:
    """
    The sockets this process (event loop) holds, for the caps of protocol §1. Plain counters:
    taking and giving back are a few dict operations on the loop, no database, no lock.
    """

    boards: Counter[str] = field(default_factory=Counter)
    users: Counter[int] = field(default_factory=Counter)
    user_boards: Counter[tuple[int, str]] = field(default_factory=Counter)

    def take(self, user_id: int | None, board_id: str) -> bool:
        """
        Count one more socket of `user_id` (None: anonymous) on `board_id`; False, counting
        nothing, when a cap is reached (0 disables a cap). Anonymous sockets (share links, link
        access) have no identity to count by: only the board's cap applies to them.
        """
        conf = realtime_settings()
        if _over(self.boards[board_id], conf.max_sockets_per_board):
            return False
        if user_id is not None:
            if _over(self.users[user_id], conf.max_sockets_per_user) or _over(
                self.user_boards[user_id, board_id], conf.max_sockets_per_user_board
            ):
                return False
            self.users[user_id] += 1
            self.user_boards[user_id, board_id] += 1
        self.boards[board_id] += 1
        return True

    def give_back(self, user_id: int | None, board_id: str) -> None:
        """
        The socket counted by take() ended.
        """
        _decrement(self.boards, board_id)
        if user_id is not None:
            _decrement(self.users, user_id)
            _decrement(self.user_boards, (user_id, board_id))


def _decrement(counter: Counter[Any], key: Any) -> None:
    # Drop keys at zero: a long-lived process sees many users and boards come and go.
    if counter[key] <= 1:
        counter.pop(key, None)
    else:
        counter[key] -= 1


_tallies: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, SocketTally] = (
    weakref.WeakKeyDictionary()
)


def get_tally() -> SocketTally:
    """
    The socket tally of the running event loop (one per process under Hypercorn, as the hub).
    """
    loop = asyncio.get_running_loop()
    tally = _tallies.get(loop)
    if tally is None:
        tally = _tallies[loop] = SocketTally()
    return tally


class SocketAuthMiddleware:
    """
    Admits or refuses a board socket before the consumer sees it.
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        query = _query(scope)
        board_id = scope["url_route"]["kwargs"]["board_id"]
        version = query.get("v", "1")
        if not _is_number(version) or int(version) not in SUPPORTED_VERSIONS:
            return await _refuse(receive, send, CloseCode.PROTOCOL_ERROR)
        try:
            info = await get_admissions().admit(knock(scope, board_id, query))
        except Exception:
            logger.exception("admitting a socket to board %s failed", board_id)
            return await _refuse(receive, send, CloseCode.INTERNAL_ERROR)
        if info["refusal"] is not None:
            return await _refuse(receive, send, info["refusal"])
        user_id = info["user_id"]
        tally = get_tally()
        # Checked after admission, so that the code tells nothing to a caller with no role.
        if not tally.take(user_id, board_id):
            return await _refuse(receive, send, CloseCode.TOO_MANY_SOCKETS)
        since = query.get("since", "0")
        info["since"] = int(since) if _is_number(since) else 0
        info["version"] = int(version)
        scope = {**scope, "inkroom": info}
        try:
            await self.inner(scope, receive, send)
        finally:
            tally.give_back(user_id, board_id)


async def _refuse(receive: Any, send: Any, code: int) -> None:
    """
    Accept, then close with `code` at once: the client learns why; no data is sent.
    """
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.close", "code": int(code)})
