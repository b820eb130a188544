"""Mirrors: SQL copies of Airtable tables for exact analytics at any size.

Public surface (wired in `services/container.py`): `Mirrors` (turn mirrors on and off,
progress and freshness, feed listener), `MirrorQueries` (the `query_records` tool's
service) and `MirrorSync` (the worker's build, sweep and scan; see `runner.py`).
"""

from __future__ import annotations

from services.mirrors.service import BaseMirror, Mirrors

__all__ = ["BaseMirror", "Mirrors"]
