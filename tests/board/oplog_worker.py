"""
Worker for the multi-process op-log test: runs in a spawned process, outside pytest.

It must not import Django models at module level: the spawned interpreter imports this module
before django.setup() has run.
"""

from __future__ import annotations

import os
import threading
from typing import Any


def op_batches(client_id: str, batches: int, batch_size: int) -> list[list[dict[str, Any]]]:
    """
    Return a client's ops (valid `add`s, i = 1..batches*batch_size) cut into batches.
    """
    style = {"color": "#000000", "width": 2, "opacity": 1, "fill": None}
    out = []
    for b in range(batches):
        batch = []
        for n in range(b * batch_size + 1, (b + 1) * batch_size + 1):
            el = {"id": f"{client_id}-{n}", "type": "rect", "x": n, "y": 0, "w": 5, "h": 5}
            batch.append({"i": n, "k": "add", "el": {**el, "style": style}})
        out.append(batch)
    return out


def append_client(
    board_id: str, client_id: str, batches: int, batch_size: int
) -> list[tuple[int, int]]:
    """
    Append a client's batches one transaction each; return [(i, seq)] from the acks.
    """
    from django.db import connections

    from board.oplog import append_ops

    acks: list[tuple[int, int]] = []
    try:
        for batch in op_batches(client_id, batches, batch_size):
            result = append_ops(board_id=board_id, author_id=None, client_id=client_id, ops=batch)
            acks.extend((i, seq) for (_c, i), seq in result.acks.items())
    finally:
        connections.close_all()
    return acks


def run_threads(
    board_id: str, client_ids: list[str], batches: int, batch_size: int
) -> dict[str, list[tuple[int, int]]]:
    """
    Run one appending thread per client id at once; return {client_id: [(i, seq)]}.
    """
    results: dict[str, list[tuple[int, int]]] = {}
    errors: list[BaseException] = []

    def run(client_id: str) -> None:
        try:
            results[client_id] = append_client(board_id, client_id, batches, batch_size)
        except BaseException as exc:  # re-raised in the caller's thread below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(c,)) for c in client_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


def run_in_process(
    database_url: str,
    board_id: str,
    client_ids: list[str],
    batches: int,
    batch_size: int,
    ready: Any,
    results: Any,
) -> None:
    """
    Entry point of a spawned process: set Django up on `database_url`, connect, wait at the
    `ready` barrier with the other writers, append from one thread per client id and put
    {client_id: [(i, seq)]} (or the error's repr) on the `results` queue.
    """
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    try:
        import django

        django.setup()
        from django.db import connection

        connection.ensure_connection()
        ready.wait(timeout=60)
        results.put(run_threads(board_id, client_ids, batches, batch_size))
    except BaseException as exc:
        results.put(repr(exc))
        ready.abort()  # the parent fails at once instead of waiting out its timeout
        raise
