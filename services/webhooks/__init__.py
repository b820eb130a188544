"""Outgoing webhooks: endpoints people register, and the signed, durable delivery of the
events they subscribe to (Standard Webhooks).

- `endpoints`: the web side (create, rotate, test, replay, the delivery log);
- `dispatcher`: the worker side (reads the event outbox, sends, retries, disables);
- `signing`, `targets`: the signature headers and the SSRF guard both sides share.
"""
