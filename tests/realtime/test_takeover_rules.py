"""
The takeover rules of realtime.engine.takeover, seen from both processes at once: whatever each
hub decides about its own socket, exactly one of two sockets sharing a client id stays.
"""

from __future__ import annotations

import pytest

from realtime.engine.room import Peer
from realtime.engine.takeover import Claim, principal, rule_on_claim


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


@pytest.mark.parametrize("gap", [0.0, 0.3, 0.999, 5.0, 60.0])
def test_of_one_users_two_sockets_the_newer_stays(gap: float) -> None:
    older, newer = _peer(7, 100.0), _peer(7, 100.0 + gap)
    left = _survivors(older, newer, now=200.0)
    assert len(left) == 1
    if gap >= 1.0:  # further apart than a claim's transit can blur
        assert left == {"b"}


@pytest.mark.parametrize("gap", [0.0, 0.5, 5.0, 60.0])
def test_against_another_principal_the_older_socket_stays(gap: float) -> None:
    older, newer = _peer(7, 100.0), _peer(None, 100.0 + gap, share="link")
    left = _survivors(older, newer, now=200.0)
    assert len(left) == 1
    if gap >= 1.0:
        assert left == {"a"}


def test_anonymous_sockets_are_one_principal_only_with_the_same_share_link() -> None:
    assert principal(_peer(None, 0, "x")) == principal(_peer(None, 0, "x"))
    assert principal(_peer(None, 0, "x")) != principal(_peer(None, 0, "y"))
    assert principal(_peer(3, 0, "x")) == principal(_peer(3, 0, None))
