"""Running a process: Hypercorn, its patches, the direct send path, probes and metrics routes."""

from __future__ import annotations
