"""
Loading a module as it was at an earlier git revision, so a micro-benchmark can time the old and
the new code side by side in one process and one run (bench.oplog_micro, bench.replay_micro).
"""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def module_at(rev: str, path: str, name: str) -> types.ModuleType:
    """
    Execute `path` (relative to the repository) as of git revision `rev` as module `name`.
    """
    source = subprocess.run(
        ["git", "show", f"{rev}:{path}"], cwd=REPO, check=True, capture_output=True, text=True
    ).stdout
    module = types.ModuleType(name)
    module.__file__ = f"<git {rev}:{path}>"
    # dataclasses looks the defining module up in sys.modules.
    sys.modules[name] = module
    exec(compile(source, module.__file__, "exec"), module.__dict__)
    return module
