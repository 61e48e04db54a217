"""
One live socket per client id on a board (protocol §1, "One socket per client id").

A client id names one writer with one op counter, and the log de-duplicates on (client_id, i):
two live sockets sharing an id would have one's ops refused as conflicts with the other's
(`client_id_taken`, board.oplog.sequence.is_resend) or, when they are the same op, acknowledged as
its resend. So a board keeps one socket per id, on every process:

* The same principal (the same account, or anonymous sockets admitted with the same share token)
  opening a second socket is the usual reconnect or reload whose old connection the server has not
  seen end yet: the newer socket takes over and the older is closed with 4010.
* Another principal presenting an id in use is refused with 4010: a client id is visible to the
  room in presence, and taking it over would let anyone cut another user's socket off.

Across processes each hub announces the ids its sockets joined with (`claims` in its next
`board.batch`, realtime.cluster.pods) and each hub rules only on its own sockets. Ages, not
timestamps, are compared: pods' wall clocks may disagree, ages only by the claim's transit time.
Two joins closer than RACE_SECS cannot be ordered that way. Of the same principal both are kept:
that is a client whose socket failed right after opening and which reconnected elsewhere, and
closing the wrong one would stop it for good (4010 is final), while the other is already dead.
Of two principals the hub ids decide, the same way on both sides.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from realtime.engine.room import Peer, Room

#: Joins on two processes closer than this are not ordered by age: the claim's transit time (a
#: tick and a channel-layer hop) blurs it.
RACE_SECS = 0.25


def principal(peer: Peer) -> str:
    """
    Who the socket writes as: its account, or, for an anonymous socket, its share link (hashed:
    the name goes through the channel layer).
    """
    if peer.user_id is not None:
        return f"user:{peer.user_id}"
    token = hashlib.sha256((peer.share or "").encode()).hexdigest()[:16]
    return f"share:{token}"


def local_rivals(room: Room, peer: Peer) -> tuple[list[Peer], bool]:
    """
    For `peer` joining `room`: the room's other sockets with its client id that it takes over,
    and whether it must itself be refused (one of them belongs to another principal).
    """
    rivals = [p for p in room.peers.values() if p.client_id == peer.client_id and p is not peer]
    own = principal(peer)
    if any(principal(p) != own for p in rivals):
        return [], True
    return rivals, False


@dataclass(frozen=True, slots=True)
class Claim:
    """
    Hub `origin` has a socket on the board with `client_id`, joined `age` seconds before the
    claim was sent. `held` marks an answer to a claim (the origin kept its older socket against
    another principal's): it is not answered again.
    """

    client_id: str
    principal: str
    age: float
    held: bool = False

    def to_wire(self) -> list[Any]:
        return [self.client_id, self.principal, self.age, self.held]

    @classmethod
    def from_wire(cls, row: list[Any]) -> Claim:
        client_id, who, age, held = row
        return cls(str(client_id), str(who), float(age), bool(held))


@dataclass(frozen=True, slots=True)
class Ruling:
    """
    What a hub does with its own socket after another hub's claim: close it (4010), or keep it
    and answer with a `held` claim so the other hub refuses its newer socket.
    """

    close: bool
    answer: Claim | None = None


def rule_on_claim(peer: Peer, claim: Claim, *, now: float, hub_id: str, origin: str) -> Ruling:
    """
    Decide about local `peer` (same board and client id) given `claim` from hub `origin`.
    """
    own = principal(peer)
    age = now - peer.joined_at
    close_call = abs(age - claim.age) < RACE_SECS
    if own == claim.principal:
        return Ruling(close=not close_call and age > claim.age)
    # Too close to order by age: by hub id instead, an arbitrary order the same on both hubs.
    ours_is_newer = hub_id > origin if close_call else age < claim.age
    if ours_is_newer:
        return Ruling(close=True)
    return Ruling(close=False, answer=None if claim.held else Claim(peer.client_id, own, age, True))
