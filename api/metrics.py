"""`GET /api/metrics`: this process's series in the Prometheus text format.

Never public: the caller sends `Authorization: Bearer <METRICS_TOKEN>` or an admin's API
token; anyone else gets 401 (no or invalid token) or 403 (a member's token). A session
cookie is not enough (a scraper has none, and a browser tab should not be one).
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.security import refuse
from services.container import Services
from services.metrics import CONTENT_TYPE

NO_CREDENTIALS = "Send the metrics token or an admin's API token (Authorization: Bearer …)."
NOT_ADMIN = "Not allowed: metrics need an admin's API token or the metrics token."


def metrics_routes(get_services: Callable[[], Services]) -> list[Route]:
    async def metrics(request: Request) -> Response:
        services = get_services()
        header = request.headers.get("authorization", "")
        status = await run_in_threadpool(services.metrics_access.status, header)
        if status == 401:
            return refuse(401, NO_CREDENTIALS)
        if status != 200:
            return refuse(403, NOT_ADMIN)
        body = await run_in_threadpool(services.metrics.exposition)
        return Response(body, media_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"})

    return [Route("/api/metrics", metrics, methods=["GET"])]
