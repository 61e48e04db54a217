"""
The browser code a board page loads before anything is drawn stays small (issue 16: under 60 KB
gzipped, lazily imported chunks aside), so a first visit on a slow network is quick.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

#: The most the eagerly loaded code may weigh, gzipped at the level a web server would use.
EAGER_GZIP_MAX = 60 * 1024
#: A static ES import in esbuild's minified output (`from"./chunk.js"`, `import"./chunk.js"`);
#: a dynamic `import("./chunk.js")` has a parenthesis and is left out: it loads on demand.
_STATIC_IMPORT = re.compile(r'(?:\bfrom|\bimport)\s*"(\./[^"]+\.js)"')


def eager_files(entry: Path) -> list[Path]:
    """
    The entry module and every chunk it imports statically, transitively.
    """
    seen: dict[Path, None] = {}
    todo = [entry]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen[path] = None
        text = path.read_text(encoding="utf-8")
        todo.extend((path.parent / name).resolve() for name in _STATIC_IMPORT.findall(text))
    return list(seen)


def test_static_import_scan_follows_static_and_skips_dynamic_imports(tmp_path: Path) -> None:
    (tmp_path / "main.js").write_text('import{a}from"./s.js";import("./lazy.js");')
    (tmp_path / "s.js").write_text('import"./t.js";')
    (tmp_path / "t.js").write_text("")
    (tmp_path / "lazy.js").write_text("")
    names = sorted(p.name for p in eager_files(tmp_path / "main.js"))
    assert names == ["main.js", "s.js", "t.js"]


def test_the_eagerly_loaded_code_stays_under_60_kb_gzipped(frontend_bundle: Path) -> None:
    files = eager_files(frontend_bundle.resolve())
    size = sum(len(gzip.compress(p.read_bytes(), compresslevel=9)) for p in files)
    assert size < EAGER_GZIP_MAX, (
        f"{', '.join(p.name for p in files)}: {size / 1024:.1f} KB gzipped, over "
        f"{EAGER_GZIP_MAX // 1024} KB: move a feature behind a dynamic import()"
    )
