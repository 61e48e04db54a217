"""
Inkroom's benchmark suite: a multi-process load generator, reference servers and scenarios A-G.

Run `python -m bench A|B|C|D|E|F|G|S|all`; see docs/performance.md for the method and figures.
"""

from __future__ import annotations
