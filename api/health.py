"""`/api/health` (the process is alive) and `/api/ready` (its stores answer)."""

from __future__ import annotations

from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from services.container import Services
from services.health import check_readiness


def health_routes(get_services: Callable[[], Services]) -> list[Route]:
    async def health(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def ready(_request: Request) -> JSONResponse:
        statuses = await run_in_threadpool(check_readiness, get_services())
        failed = [s.name for s in statuses if not s.ok]
        body = {
            "status": "unavailable" if failed else "ready",
            "failed": failed,
            "checks": {s.name: "ok" if s.ok else "unavailable" for s in statuses},
        }
        return JSONResponse(body, status_code=503 if failed else 200)

    return [
        Route("/api/health", health, methods=["GET"]),
        Route("/api/ready", ready, methods=["GET"]),
    ]
