"""
Create a user, an API token and boards in the local cluster's database; print them as JSON.

    python tests/cluster/seed.py TITLE [COUNT]

Run as a script with the cluster's DATABASE_URL (tests/cluster/localcluster.py does), so the
rows live where the pods read them rather than in pytest's test database.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

from board.models import Board, LinkAccess, Membership, Role  # noqa: E402


def main() -> None:
    user, _ = get_user_model().objects.get_or_create(username="cluster-faults")
    token, _ = Token.objects.get_or_create(user=user)
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    boards = []
    for _ in range(count):
        board = Board.objects.create(owner=user, title=sys.argv[1], link_access=LinkAccess.NONE)
        Membership.objects.create(board=board, user=user, role=Role.OWNER)
        boards.append(board.id)
    print(json.dumps({"board": boards[0], "boards": boards, "token": token.key}))


if __name__ == "__main__":
    main()
