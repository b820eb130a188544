"""A local server that speaks the Airtable Web API, seeded with demo bases.

Start it with ``python -m emulator --port 8787 --data var/emulator.db --seed demo`` or,
in-process, with :class:`emulator.testing.EmulatorServer`. Clients such as pyairtable
point at it with ``Api(DEV_TOKEN, endpoint_url="http://127.0.0.1:8787")``.
"""

#: Personal access token accepted when the server is started without ``--token``.
DEV_TOKEN = "patDEVELOPMENTTOKEN.emulator"  # noqa: S105 (public, documented dev token)

__all__ = ["DEV_TOKEN"]
