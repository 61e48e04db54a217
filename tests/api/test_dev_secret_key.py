"""
A DEBUG install without SECRET_KEY signs with a random key of its own (issue 15, finding 12), not
the fixed one that was in the source: kept in INKROOM_VAR_DIR/secret_key (0600), the same for
every process of the install. Production still refuses to start without SECRET_KEY.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.core import signing

REPO = Path(__file__).resolve().parents[2]
#: The key that used to be in config/settings.py: anyone could sign with it.
OLD_FIXED_KEY = "inkroom-insecure-development-key-do-not-use-in-production"


def start(var_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """
    Load the settings in a fresh process without SECRET_KEY; print the key it ends up with.
    """
    base = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG")}
    return subprocess.run(
        [sys.executable, "-c", "import config.settings as s; print(s.SECRET_KEY)"],
        cwd=REPO,
        env={**base, "INKROOM_VAR_DIR": str(var_dir), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_debug_without_secret_key_uses_a_random_key_kept_in_the_var_dir(tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    first = start(var_dir, DEBUG="1")
    assert first.returncode == 0, first.stderr
    key = first.stdout.strip()
    assert key != OLD_FIXED_KEY and len(key) >= 50
    stored = var_dir / "secret_key"
    assert stored.read_text().strip() == key
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    # Every later process of the install signs with the same key; another install does not.
    assert start(var_dir, DEBUG="1").stdout.strip() == key
    assert start(tmp_path / "other", DEBUG="1").stdout.strip() != key


def test_a_ticket_signed_with_the_old_fixed_key_is_refused(tmp_path: Path) -> None:
    key = start(tmp_path, DEBUG="1").stdout.strip()
    forged = signing.dumps({"u": 1}, key=OLD_FIXED_KEY, salt="x")
    with pytest.raises(signing.BadSignature):
        signing.loads(forged, key=key, salt="x")


def test_processes_starting_together_agree_on_one_key(tmp_path: Path) -> None:
    base = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG")}
    env = {**base, "INKROOM_VAR_DIR": str(tmp_path), "DEBUG": "1"}
    code = "import config.settings as s; print(s.SECRET_KEY)"
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", code], cwd=REPO, env=env, stdout=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    keys = {process.communicate(timeout=60)[0].strip() for process in processes}
    assert len(keys) == 1 and "" not in keys
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]  # no temporary files left


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    (tmp_path / "secret_key").write_text("k" * 80)
    (tmp_path / "secret_key").chmod(0o644)
    done = start(tmp_path, DEBUG="1")
    assert done.returncode != 0 and "chmod 600" in done.stderr


def test_production_still_requires_secret_key(tmp_path: Path) -> None:
    done = start(tmp_path, DEBUG="0")
    assert done.returncode != 0 and "SECRET_KEY" in done.stderr
    assert not (tmp_path / "secret_key").exists()
