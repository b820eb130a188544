"""``--seed demo``: three deterministic demo bases a business would recognise.

* "Sales CRM" (``appDemoSalesCRM00``): Companies, Contacts, Deals.
* "Project Tracker" (``appDemoProjects00``): Projects, Tasks (exactly 5,000).
* "Inventory" (``appDemoInventory0``): Suppliers, Products, Orders.

Dates are relative to a seeding day (``--seed-date``, default today): the same day gives
the same IDs and values byte for byte; seeding takes about a second.
"""

from datetime import UTC, date, datetime

from emulator.seed_crm import SALES_CRM_ID, seed_sales_crm
from emulator.seed_inventory import INVENTORY_ID, seed_inventory
from emulator.seed_projects import PROJECT_TRACKER_ID, seed_project_tracker
from emulator.store import Store

DEMO_BASE_IDS = (SALES_CRM_ID, PROJECT_TRACKER_ID, INVENTORY_ID)


#: The seeding day the test harness (`emulator.testing.EmulatorServer`) and the benches
#: use unless told otherwise, so their facts do not move from one day to the next.
REFERENCE_DATE = date(2026, 11, 18)


def seed_demo(store: Store, seed_date: date | None = None) -> None:
    """Add the three demo bases to a store (callers check that it is empty first).

    Args:
        store: The store to fill.
        seed_date: "Today" in the demo's story; None means the current UTC day.
    """
    today = seed_date or datetime.now(UTC).date()
    with store.lock:
        seed_sales_crm(store, today)
        seed_project_tracker(store, today)
        seed_inventory(store, today)
