"""The web process: the Streamlit UI and the `/api/*` routes in one `st.App` server.

Run with `streamlit run server.py` (what `make run` does) or `uvicorn server:app`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import streamlit as st
from starlette.middleware import Middleware
from starlette.routing import BaseRoute
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.secrets import secrets_singleton

from api.account import account_routes
from api.airtable_notifications import airtable_notification_routes
from api.auth import auth_routes
from api.changes import change_routes
from api.chat import chat_routes
from api.conversations import conversation_routes
from api.events import events_routes
from api.health import health_routes
from api.hooks import hook_routes
from api.metrics import metrics_routes
from api.middleware import (
    ApiNotFoundMiddleware,
    ClientAddressMiddleware,
    RequestMetricsMiddleware,
    SecurityHeadersMiddleware,
)
from api.proposals import proposal_routes
from api.runs import run_routes
from api.security import EXCEPTION_HANDLERS
from api.sockets import disable_nagle_on_listeners
from api.webhooks import webhook_routes
from api.workflows import workflow_routes
from services.container import Services
from services.llm.providers import preload_provider
from services.metrics import Metrics
from services.runtime import prepare_to_serve
from ui.context import get_chat_turns, get_services, get_settings

# app.py's st.navigation is the only page registry. Without this, Streamlit sees the
# pages/ folder and, until some session first runs app.py, serves a URL such as
# /admin_users by running that page file directly (its v1 multipage mode): no sign-in
# gate in app.py, and a raw list of every page file in the sidebar.
PagesManager.uses_pages_directory = False


@asynccontextmanager
async def lifespan(_app: Any) -> AsyncIterator[dict[str, Any]]:
    # Settings are read here, not at import. The services are the ones the Streamlit script
    # runs use (`ui.context`), so routes and pages share one engine and one Redis pool.
    settings = get_settings()
    disable_nagle_on_listeners()
    # st.login reads [auth] from st.secrets; they come from settings, not a secrets file.
    secrets_singleton.merge_programmatic_secrets(settings.streamlit_auth_secrets())  # type: ignore[arg-type]
    services = get_services()
    # Everything the first chat turn would build or import, then the heap frozen: the
    # collector no longer walks it (`services.runtime`).
    get_chat_turns()
    preload_provider(settings)
    prepare_to_serve()
    try:
        yield {"services": services}
    finally:
        services.close()


def _services() -> Services:
    services: Services = app.state["services"]
    return services


def _metrics() -> Metrics | None:
    try:
        return _services().metrics
    except (AttributeError, KeyError):
        return None  # before the lifespan built the services


routes: list[BaseRoute] = [
    *health_routes(_services),
    *auth_routes(_services),
    *account_routes(_services),
    *events_routes(_services),
    *workflow_routes(_services),
    *run_routes(_services),
    *webhook_routes(_services),
    *chat_routes(_services, get_chat_turns),
    *conversation_routes(_services),
    *proposal_routes(_services),
    *change_routes(_services),
    *metrics_routes(_services),
    *hook_routes(_services),
    *airtable_notification_routes(_services),
]
app = st.App(
    Path(__file__).with_name("app.py"),
    routes=routes,
    # Outermost first: every response, our own 404/405 included, gets the framing headers.
    middleware=[
        Middleware(SecurityHeadersMiddleware),
        Middleware(ClientAddressMiddleware, trusted_proxies=lambda: get_settings().trusted_proxies),
        Middleware(RequestMetricsMiddleware, routes=routes, metrics=_metrics),
        Middleware(ApiNotFoundMiddleware, routes=routes),
    ],
    lifespan=lifespan,
    exception_handlers=EXCEPTION_HANDLERS,
)
