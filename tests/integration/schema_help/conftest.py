from tests.integration.airtable.fixtures import (
    airtable_emulator,
    airtable_services,
    fresh_base,
    member,
)

__all__ = ["airtable_emulator", "airtable_services", "fresh_base", "member"]
