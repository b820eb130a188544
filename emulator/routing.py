"""Matching raw request paths against route templates.

Paths are split on ``/`` *before* percent-decoding, so a table named ``A/B`` (sent as
``A%2FB``) stays one segment.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote


@dataclass(frozen=True)
class Route:
    """One endpoint: ``GET /v0/{baseId}/{tableIdOrName}`` and its handler."""

    method: str
    template: str
    handler: Callable[..., Any]
    needs_base: bool = False
    max_body: int | None = None  # overrides the app's body limit (uploads)

    @property
    def key(self) -> str:
        """The name stats count requests under, e.g. ``GET /v0/{baseId}/{tableIdOrName}``."""
        return f"{self.method} {self.template}"

    def match(self, segments: list[str]) -> dict[str, str] | None:
        """Return path parameters if ``segments`` fit the template, else ``None``."""
        parts = self.template.strip("/").split("/")
        if len(parts) != len(segments):
            return None
        params: dict[str, str] = {}
        for part, segment in zip(parts, segments, strict=True):
            if part.startswith("{"):
                if not segment:
                    return None
                params[part[1:-1]] = segment
            elif part != segment:
                return None
        return params


def split_path(raw_path: bytes) -> list[str]:
    """Split a raw path into percent-decoded segments (``%2F`` stays inside a segment)."""
    text = raw_path.decode("latin-1").split("?", 1)[0]
    return [unquote(s) for s in text.strip("/").split("/")]


def resolve(
    routes: list[Route], method: str, segments: list[str]
) -> tuple[Route, dict[str, str]] | None:
    """Find the first route whose method and template match."""
    for route in routes:
        if route.method != method:
            continue
        params = route.match(segments)
        if params is not None:
            return route, params
    return None
