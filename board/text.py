"""
Text from outside must be a sequence of Unicode scalar values: no lone surrogate (issue 14).

A Python str can hold a lone surrogate (U+D800..U+DFFF) that no UTF-8 encoder, PostgreSQL,
msgpack or password hasher accepts. Strings reach us decoded from UTF-8 bytes (strict: never a
surrogate) or from JSON, whose `\\ud800` escape decodes to one: a JSON text frame, a REST body, a
compact frame's style. Every edge checks with these helpers, so such a str is refused where it
arrives (bad_message / invalid_op / 400) instead of failing later inside a shared tick, a
transaction or a response encoder.

Pure: no Django. The check is O(1) for an ASCII str (CPython flags ASCII strings) and one
encode otherwise, which beats a regex search for [\\ud800-\\udfff] on long text
(docs/performance.md has the figures).
"""

from __future__ import annotations

from typing import Any

#: The one wording of the refusal, after the field path.
NOT_SCALAR_TEXT = "not valid Unicode text (a lone surrogate)"

#: A path step: (the trail of the enclosing container, the key or index leading here).
_Trail = tuple[Any, object] | None
#: Keys longer than this are cut in paths: an error message is not the place to echo a frame.
_MAX_KEY_CHARS = 40


def is_scalar_text(text: str) -> bool:
    """
    True when `text` holds no lone surrogate, i.e. is encodable as UTF-8.
    """
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def non_scalar_path(value: Any) -> str | None:
    """
    Where decoded JSON `value` holds a string (a value or a key) that is not scalar text, else
    None: the path of that value ("title", "x[1].y"), or of the object whose key it is; "" for
    the top level.

    Iterative, so nesting as deep as the JSON decoder allows cannot overflow the stack; paths are
    only spelled out for the string that fails.
    """
    stack: list[tuple[Any, _Trail]] = [(value, None)]
    while stack:
        item, trail = stack.pop()
        if isinstance(item, str):
            if not is_scalar_text(item):
                return _spell(trail)
        elif isinstance(item, dict):
            for key in item:
                # JSON keys are str; msgpack maps may also have bytes keys, which hold no text.
                if isinstance(key, str) and not is_scalar_text(key):
                    return _spell(trail)
            # Reversed so that the first bad string in document order is the one reported.
            stack.extend((child, (trail, key)) for key, child in reversed(item.items()))
        elif isinstance(item, list):
            stack.extend((item[n], (trail, n)) for n in range(len(item) - 1, -1, -1))
    return None


def _spell(trail: _Trail) -> str:
    steps: list[object] = []
    while trail is not None:
        trail, step = trail
        steps.append(step)
    path = ""
    for step in reversed(steps):
        if isinstance(step, int):
            path += f"[{step}]"
            continue
        key = step if isinstance(step, str) else repr(step)
        if len(key) > _MAX_KEY_CHARS:
            key = key[: _MAX_KEY_CHARS - 3] + "..."
        path += f".{key}" if path else key
    return path
