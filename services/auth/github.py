"""GitHub sign-in (OAuth 2 web flow, not OIDC) through authlib, with state and PKCE."""

from __future__ import annotations

import json
import logging
import secrets

import redis
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session

from config.settings import Settings
from services.auth.accounts import ExternalIdentity
from services.errors import ConfigurationError, NotAllowedError

logger = logging.getLogger(__name__)

_STATE_TTL_S = 600
_SCOPE = "read:user user:email"


class GitHubSignIn:
    def __init__(self, settings: Settings, client: redis.Redis) -> None:
        if not settings.github_enabled or settings.github_client_secret is None:
            raise ConfigurationError("GitHub sign-in is not configured.")
        self._settings = settings
        self._secret = settings.github_client_secret.get_secret_value()
        self._redis = client
        self._prefix = f"{settings.redis_key_prefix}auth:github-state:"

    def _session(self, redirect_uri: str) -> OAuth2Session:
        return OAuth2Session(
            self._settings.github_client_id,
            self._secret,
            scope=_SCOPE,
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
        )

    def start(self, redirect_uri: str) -> str:
        """The GitHub authorize URL; its state and PKCE verifier wait in Redis for the callback."""
        state = secrets.token_urlsafe(24)
        verifier = generate_token(64)
        url, _ = self._session(redirect_uri).create_authorization_url(
            self._settings.github_authorize_url, state=state, code_verifier=verifier
        )
        record = json.dumps({"verifier": verifier, "redirect_uri": redirect_uri})
        self._redis.set(f"{self._prefix}{state}", record, ex=_STATE_TTL_S)
        return str(url)

    def finish(self, *, state: str, code: str) -> ExternalIdentity:
        """Exchange the code (once per state) and read the user's verified primary email."""
        raw = self._redis.getdel(f"{self._prefix}{state}") if state else None
        if raw is None:
            raise NotAllowedError("The GitHub sign-in expired or was not started here. Try again.")
        record = json.loads(raw)
        session = self._session(record["redirect_uri"])
        try:
            session.fetch_token(
                self._settings.github_token_url,
                code=code,
                code_verifier=record["verifier"],
                headers={"Accept": "application/json"},
            )
            api = self._settings.github_api_url.rstrip("/")
            user = session.get(f"{api}/user", timeout=10).json()
            emails = session.get(f"{api}/user/emails", timeout=10).json()
        except (requests.RequestException, ValueError, KeyError) as exc:
            logger.warning("github sign-in failed: %s", type(exc).__name__)
            raise NotAllowedError("GitHub sign-in failed. Try again.") from exc
        except Exception as exc:  # authlib raises OAuthError subclasses for refusals
            logger.warning("github token exchange refused: %s", type(exc).__name__)
            raise NotAllowedError("GitHub refused the sign-in. Try again.") from exc
        primary = next((e for e in emails if e.get("primary") and e.get("verified")), None)
        if primary is None:
            raise NotAllowedError("Your GitHub account has no verified primary email.")
        return ExternalIdentity(
            provider="github",
            subject=str(user["id"]),
            email=primary["email"],
            email_verified=True,
            name=user.get("name") or user.get("login") or "",
        )
