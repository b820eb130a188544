import pytest
from langchain_core.tools import BaseTool

from services.container import Services
from tests.integration.airtable.fixtures import (
    airtable_emulator,
    airtable_services,
    fresh_base,
    member,
)
from tools.airtable import airtable_tools

__all__ = ["airtable_emulator", "airtable_services", "fresh_base", "member"]


@pytest.fixture
def tools(airtable_services: Services) -> dict[str, BaseTool]:
    """The Airtable tools by name, bound to the test's services."""
    return {t.name: t for t in airtable_tools(airtable_services)}
