"""
Reference servers the benchmark compares Inkroom with: the Channels-docs pattern and a relay.
"""

from __future__ import annotations
