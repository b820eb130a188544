from tests.integration.sync.fixtures import admin, sync_services

__all__ = ["admin", "sync_services"]
