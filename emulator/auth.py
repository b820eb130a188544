"""Bearer-token checks and per-base token restrictions.

``--token TOKEN`` grants every base; ``--token TOKEN:appA,appB`` only those bases.
"""

from collections.abc import Iterable, Mapping

from emulator import DEV_TOKEN, errors

Tokens = dict[str, set[str] | None]


def parse_token_specs(specs: Iterable[str]) -> Tokens:
    """Turn ``["TOKEN", "OTHER:appA,appB"]`` into token -> allowed bases (None = all)."""
    tokens: Tokens = {}
    for spec in specs:
        token, _, bases = spec.partition(":")
        token = token.strip()
        if not token:
            raise ValueError(f"empty token in {spec!r}")
        tokens[token] = {b.strip() for b in bases.split(",") if b.strip()} if bases else None
    return tokens


def normalize_tokens(tokens: Mapping[str, Iterable[str] | None] | Iterable[str] | None) -> Tokens:
    """Accept a mapping, a list of ``TOKEN[:bases]`` specs, or ``None`` (the dev token)."""
    if tokens is None:
        return {DEV_TOKEN: None}
    if isinstance(tokens, Mapping):
        return {t: (None if b is None else set(b)) for t, b in tokens.items()}
    return parse_token_specs(tokens)


def authenticate(header: str | None, tokens: Tokens) -> str:
    """Return the bearer token from an ``Authorization`` header if it is known.

    Raises:
        ApiError: 401 ``AUTHENTICATION_REQUIRED``.
    """
    scheme, _, token = (header or "").partition(" ")
    if scheme.lower() != "bearer":
        raise errors.authentication_required()
    token = token.strip()
    if token not in tokens:
        raise errors.authentication_required()
    return token


def check_base_access(token: str, base_id: str, tokens: Tokens, exists: bool) -> None:
    """403 if the token may not use the base; bare 404 if the base does not exist.

    Raises:
        ApiError: 403 ``INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND`` or 404 ``NOT_FOUND``.
    """
    allowed = tokens.get(token)
    if allowed is not None and base_id not in allowed:
        raise errors.forbidden()
    if not exists:
        raise errors.not_found()
