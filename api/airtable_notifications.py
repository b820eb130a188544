"""`POST /api/airtable/notifications/{webhook_id}`: Airtable's pings.

No session or token: the `X-Airtable-Content-MAC` (HMAC-SHA256 of the body with the
webhook's secret) is the authentication. A valid ping enqueues the durable payload read
and answers 200 at once; an unknown webhook answers 404, a bad MAC 401, and neither
enqueues or writes anything.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.json_calls import error_response
from api.security import refuse
from services.container import Services
from services.errors import AppError, StoreUnavailableError
from services.webhooks.airtable_hooks import PingSignatureError

MAX_PING_BYTES = 16_384  # a ping is `{"base", "webhook", "timestamp"}`


def airtable_notification_routes(get_services: Callable[[], Services]) -> list[Route]:
    async def ping(request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_PING_BYTES:
            return refuse(413, "A notification is a few hundred bytes.")
        webhooks = get_services().airtable_webhooks
        webhook_id = request.path_params["webhook_id"]
        headers = dict(request.headers)
        try:
            await run_in_threadpool(webhooks.receive_ping, webhook_id, body, headers)
        except StoreUnavailableError:
            raise
        except PingSignatureError as exc:
            return refuse(401, str(exc))
        except AppError as exc:
            return error_response(exc)
        return JSONResponse({"ok": True})

    return [Route("/api/airtable/notifications/{webhook_id}", ping, methods=["POST"])]
