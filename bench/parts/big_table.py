"""A generated table of any size in the emulator, for the mirror bench.

Uses the emulator's own seeding tools (`emulator.seeder`): one base, one table "Events"
with text, selects, a multi-select, numbers, a date and a checkbox, rows drawn from a
seeded RNG so every run is the same.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from emulator.seed import REFERENCE_DATE
from emulator.seeder import Seeder, iso_date, spec
from emulator.store import Store

BASE_ID = "appBenchMirror000"
TABLE = "Events"
CATEGORIES = ("Alpha", "Beta", "Gamma", "Delta", "Epsilon", "Zeta", "Eta", "Theta")
REGIONS = ("North", "South", "East", "West", "Central")
TAGS = ("urgent", "repeat", "promo", "wholesale")


def seed_big_table(store: Store, rows: int) -> None:
    """Add the bench base with `rows` records in its one table."""
    seeder = Seeder(store, BASE_ID, "Mirror Bench", REFERENCE_DATE)
    seeder.tables(
        [
            {
                "name": TABLE,
                "fields": [
                    spec("Name", "singleLineText"),
                    seeder.select("Category", CATEGORIES),
                    seeder.select("Region", REGIONS),
                    spec("Amount", "currency", precision=2, symbol="$"),
                    spec("Quantity", "number", precision=0),
                    iso_date("Date"),
                    spec("Done", "checkbox"),
                    seeder.select("Tags", TAGS, "multipleSelects"),
                    spec("Score", "number", precision=1),
                ],
            }
        ]
    )
    rng = random.Random(f"mirror-bench:{rows}")
    start = date(2025, 1, 1)
    seeder.rows(
        TABLE,
        [
            {
                "Name": f"Event {i % 7919:04d}",
                "Category": rng.choice(CATEGORIES),
                "Region": rng.choice(REGIONS),
                "Amount": round(rng.uniform(1, 5000), 2),
                "Quantity": rng.randint(1, 60),
                "Date": (start + timedelta(days=rng.randint(0, 699))).isoformat(),
                "Done": rng.random() < 0.4,
                "Tags": sorted(rng.sample(TAGS, rng.randint(0, 2))),
                "Score": round(rng.uniform(0, 10), 1) if rng.random() < 0.9 else None,
            }
            for i in range(rows)
        ],
    )
    with store.lock:
        seeder.finish()
