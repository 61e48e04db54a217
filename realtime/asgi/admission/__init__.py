"""
Socket admission: who is connecting and with which role, before accept().

At connect only, admission resolves the user (Django session cookie, `Authorization: Token <api
token>`, or a single-use `?token=` socket ticket), the board and the role (the rule of
board.access.resolve_role, including `?share=`), and hands the consumer scope["inkroom"] with the
fingerprint of the credential that admitted the socket (realtime.cluster.signals closes the socket
when that credential is revoked). The modules, in the order a socket meets them:

- handshake: what the handshake says (query, token header, session cookie), read on the loop;
- batching: the sockets that arrive while one batch is resolved wait together for the next;
- batch: a batch's answers, from the rows of lookup and the sessions of sessions;
- single: one socket resolved on its own, as Django would: what the batch falls back to for
  anything unusual, and the reference the batch is tested against;
- tally: the caps on sockets per user per board, per user and per board (protocol §1).

The ASGI middleware that runs them is realtime.asgi.middleware.
"""
