"""Accounts, sessions, sign-in throttling, external identities and API tokens."""
