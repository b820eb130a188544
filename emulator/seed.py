"""``--seed demo``: three deterministic demo bases a business would recognise.

* "Sales CRM" (``appDemoSalesCRM00``): Companies, Contacts, Deals.
* "Project Tracker" (``appDemoProjects00``): Projects, Tasks (exactly 5,000).
* "Inventory" (``appDemoInventory0``): Suppliers, Products, Orders.

The same IDs and values come out on every run; seeding takes about a second.
"""

from emulator.seed_crm import SALES_CRM_ID, seed_sales_crm
from emulator.seed_inventory import INVENTORY_ID, seed_inventory
from emulator.seed_projects import PROJECT_TRACKER_ID, seed_project_tracker
from emulator.store import Store

DEMO_BASE_IDS = (SALES_CRM_ID, PROJECT_TRACKER_ID, INVENTORY_ID)


def seed_demo(store: Store) -> None:
    """Add the three demo bases to a store (callers check that it is empty first).

    Args:
        store: The store to fill.
    """
    with store.lock:
        seed_sales_crm(store)
        seed_project_tracker(store)
        seed_inventory(store)
