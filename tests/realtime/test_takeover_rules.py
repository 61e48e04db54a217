"""
The takeover rules of realtime.engine.takeover, seen from both processes at once: each hub rules
on its own socket only, and together they keep the one the rules say.
"""

from __future__ import annotations

import pytest

from realtime.engine.room import Peer
from realtime.engine.takeover import RACE_SECS, Claim, principal, rule_on_claim


def _peer(user_id: int | None, joined_at: float, share: str | None = None) -> Peer:
    return Peer(
        board_id="b",
        client_id="tab-1",
        user_id=user_id,
        user_name="",
        role="editor",
        share=share,
        send_queue=None,  # type: ignore[arg-type]
        limiter=None,  # type: ignore[arg-type]
        joined_at=joined_at,
    )


def _survivors(a: Peer, b: Peer, now: float) -> set[str]:
    """
    Hubs "aaaa" (socket a) and "bbbb" (socket b) each hear the other's claim and any answer.
    """
    gone: set[str] = set()
    claim_a = Claim("tab-1", principal(a), now - a.joined_at)
    claim_b = Claim("tab-1", principal(b), now - b.joined_at)
    on_a = rule_on_claim(a, claim_b, now=now, hub_id="aaaa", origin="bbbb")
    on_b = rule_on_claim(b, claim_a, now=now, hub_id="bbbb", origin="aaaa")
    answers = (("a", b, "bbbb", "aaaa", on_a), ("b", a, "aaaa", "bbbb", on_b))
    for name, other, hub, origin, ruling in answers:
        if ruling.close:
            gone.add(name)
        # An answer goes back to the other hub, which rules again on its own socket.
        elif (
            ruling.answer
            and rule_on_claim(other, ruling.answer, now=now, hub_id=hub, origin=origin).close
        ):
            gone.add("b" if name == "a" else "a")
    return {"a", "b"} - gone


@pytest.mark.parametrize("gap", [0.3, 1.0, 5.0, 60.0])
def test_of_one_users_two_sockets_the_newer_stays(gap: float) -> None:
    older, newer = _peer(7, 100.0), _peer(7, 100.0 + gap)
    assert _survivors(older, newer, now=200.0) == {"b"}


@pytest.mark.parametrize("gap", [0.0, 0.1, RACE_SECS - 0.01])
def test_one_users_joins_too_close_to_order_are_both_kept(gap: float) -> None:
    # A socket that failed right after opening, its client already back on another process:
    # closing the wrong one would stop that client for good (4010 is final).
    older, newer = _peer(7, 100.0), _peer(7, 100.0 + gap)
    assert _survivors(older, newer, now=200.0) == {"a", "b"}


@pytest.mark.parametrize("gap", [0.0, 0.1, 0.5, 5.0, 60.0])
def test_against_another_principal_the_older_socket_stays(gap: float) -> None:
    older, newer = _peer(7, 100.0), _peer(None, 100.0 + gap, share="link")
    left = _survivors(older, newer, now=200.0)
    assert len(left) == 1
    if gap >= RACE_SECS:
        assert left == {"a"}


def test_anonymous_sockets_are_one_principal_only_with_the_same_share_link() -> None:
    assert principal(_peer(None, 0, "x")) == principal(_peer(None, 0, "x"))
    assert principal(_peer(None, 0, "x")) != principal(_peer(None, 0, "y"))
    assert principal(_peer(3, 0, "x")) == principal(_peer(3, 0, None))
