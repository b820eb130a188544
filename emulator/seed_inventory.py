"""The "Inventory" demo base: Suppliers, Products and Orders."""

from datetime import date
from typing import Any

from emulator import seed_data as words
from emulator.seeder import HISTORY_DAYS, Seeder, day, iso_date, link, person, phone, slug, spec
from emulator.store import Store

INVENTORY_ID = "appDemoInventory0"
_ORDER_DAYS = 365
_WEEKDAY_WEIGHTS = (1.2, 1.1, 1.1, 1.0, 1.3, 0.35, 0.2)  # Monday first


def _schema(s: Seeder) -> list[dict[str, Any]]:
    money = {"type": "currency", "options": {"precision": 2, "symbol": "$"}}
    suppliers = [
        spec("Name", "singleLineText"),
        spec("Contact Name", "singleLineText"),
        spec("Email", "email"),
        spec("Phone", "phoneNumber"),
        s.select("Country", words.COUNTRIES),
        spec("Lead Time Days", "number", precision=0),
        spec("Rating", "rating", max=5, icon="star", color="yellowBright"),
    ]
    products = [
        spec("Name", "singleLineText"),
        spec("SKU", "singleLineText"),
        s.select("Category", tuple(words.PRODUCT_CATALOG)),
        spec("Unit Price", "currency", precision=2, symbol="$"),
        spec("Stock", "number", precision=0),
        spec("Reorder Level", "number", precision=0),
        link("Supplier", "Suppliers"),
        spec("Photos", "multipleAttachments"),
        spec("Discontinued", "checkbox"),
        spec("Needs Reorder", "formula", formula="IF({Stock} <= {Reorder Level}, 1, 0)",
             result={"type": "number", "options": {"precision": 0}}),
        spec("Units Ordered", "rollup", recordLinkFieldId="Orders",
             fieldIdInLinkedTable="Quantity", formula="SUM(values)"),
    ]  # fmt: skip
    orders = [
        spec("Order Number", "singleLineText"),
        iso_date("Order Date"),
        link("Product", "Products"),
        spec("Quantity", "number", precision=0),
        s.select("Status", words.ORDER_STATUSES),
        spec("Customer", "singleLineText"),
        spec("Unit Price", "multipleLookupValues", recordLinkFieldId="Product",
             fieldIdInLinkedTable="Unit Price"),
        spec("Order Total", "formula", formula="{Quantity} * {Unit Price}", result=money),
    ]  # fmt: skip
    return [
        {"name": "Suppliers", "description": "Who we buy from.", "fields": suppliers},
        {"name": "Products", "description": "The catalogue and stock.", "fields": products},
        {"name": "Orders", "description": "Customer orders, one product each.", "fields": orders},
    ]


def _products(s: Seeder, supplier_ids: list[str]) -> list[dict[str, Any]]:
    rng = s.rng
    catalog = [(c, item) for c, items in words.PRODUCT_CATALOG.items() for item in items]
    names = sorted({(c, f"{v} {i}") for c, i in catalog for v in words.PRODUCT_VARIANTS})
    rows = []
    for number, (category, name) in enumerate(rng.sample(names, 300), start=1):
        sku = f"{category[:3].upper()}-{1000 + number}"
        photos = [
            {"id": s.ids("att", f"{sku}.{n}"), "url": f"https://example.com/products/{sku}-{n}.jpg",
             "filename": f"{slug(name)}-{n}.jpg", "size": rng.randint(40_000, 900_000),
             "type": "image/jpeg", "width": 1200, "height": 1200}
            for n in range(1, rng.choice((1, 1, 2, 3)) + 1)
        ]  # fmt: skip
        rows.append({
            "Name": name, "SKU": sku, "Category": category,
            "Unit Price": round(rng.uniform(4, 400), 2), "Stock": rng.randint(0, 480),
            "Reorder Level": rng.choice((10, 20, 25, 40, 60)), "Photos": photos,
            "Supplier": [rng.choice(supplier_ids)], "Discontinued": rng.random() < 0.05,
        })  # fmt: skip
    return rows


def _order_days(s: Seeder, count: int) -> list[date]:
    """Order days over the last year: busy weekdays, quiet weekends, a growing trend."""
    rng = s.rng
    days = [s.day(-offset) for offset in range(_ORDER_DAYS, 0, -1)]
    weights = [_WEEKDAY_WEIGHTS[d.weekday()] * (0.6 + 0.8 * i / len(days))
               for i, d in enumerate(days)]  # fmt: skip
    return sorted(rng.choices(days, weights=weights, k=count))


def _order_status(s: Seeder, ordered: date) -> str:
    rng, age = s.rng, (s.today - ordered).days
    if rng.random() < 0.04:
        return "Cancelled"
    if age <= 2:
        return "Pending" if rng.random() < 0.75 else "Shipped"
    if age <= 7:
        return rng.choices(("Pending", "Shipped", "Delivered"), weights=(1, 12, 7))[0]
    return "Delivered" if rng.random() < 0.98 else "Shipped"


def seed_inventory(store: Store, seed_date: date) -> None:
    """Suppliers (30), Products (300, with photo metadata) and Orders (800)."""
    s = Seeder(store, INVENTORY_ID, "Inventory", seed_date)
    rng = s.rng
    s.tables(_schema(s))
    suppliers: list[dict[str, Any]] = []
    seen: set[str] = set()
    while len(suppliers) < 30:
        name = f"{rng.choice(words.SUPPLIER_ROOTS)} {rng.choice(words.SUPPLIER_KINDS)}"
        if name in seen:
            continue
        seen.add(name)
        first, last = person(rng)
        suppliers.append({
            "Name": name, "Contact Name": f"{first} {last}",
            "Email": f"{slug(first)}@{slug(name)}.example.com", "Phone": phone(rng),
            "Country": rng.choice(words.COUNTRIES), "Lead Time Days": rng.randint(2, 45),
            "Rating": rng.randint(2, 5),
        })  # fmt: skip
    supplier_ids = s.rows("Suppliers", suppliers, s.times(30, days=HISTORY_DAYS))
    product_ids = s.rows("Products", _products(s, supplier_ids), s.times(300, days=HISTORY_DAYS))
    customers = [f"{root} {kind}" for root in words.COMPANY_ROOTS
                 for kind in ("Store", "Retail", "Market", "Shop")]  # fmt: skip
    regulars = [rng.paretovariate(1.2) for _ in customers]
    popularity = [rng.paretovariate(1.6) for _ in product_ids]
    orders, times = [], []
    for number, ordered in enumerate(_order_days(s, 800), start=1):
        times.append(s.moment(ordered))
        orders.append({
            "Order Number": f"SO-{10000 + number}", "Order Date": day(ordered),
            "Product": [rng.choices(product_ids, weights=popularity)[0]],
            "Quantity": rng.choice((1, 1, 2, 2, 3, 4, 5, 6, 8, 10, 12, 24, 48)),
            "Status": _order_status(s, ordered),
            "Customer": rng.choices(customers, weights=regulars)[0],
        })  # fmt: skip
    s.rows("Orders", orders, sorted(times))
    s.view("Suppliers", "Top rated", "{Rating} >= 4", [("Rating", "desc")])
    s.view("Products", "Needs reorder", "{Stock} <= {Reorder Level}", [("Stock", "asc")])
    s.view("Orders", "Pending orders", "{Status}='Pending'", [("Order Date", "asc")])
    s.finish()
