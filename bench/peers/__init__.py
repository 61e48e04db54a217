"""
Peers: the collaboration backends people deploy, run beside Inkroom on the same scenarios.

Node servers (`hocuspocus.mjs`, `tldraw.mjs`, `socketio.mjs`, their packages pinned in
package-lock.json: `npm ci` here installs them), the load generator's adapters for their
protocols (clients.py, yjs.py), and the side-by-side runner (`python -m bench.peers`,
`make bench-peers`). See docs/performance.md, "Peers, side by side".
"""

from __future__ import annotations
