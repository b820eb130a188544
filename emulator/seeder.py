"""Tools the demo seeds share: a base builder with derived IDs and value helpers.

Base IDs are readable constants, other IDs come from :func:`emulator.ids.derived_id`,
values from an RNG seeded per base, and every date is an offset from the seeding day, so
one seed date always gives the same records (same IDs, same values) and a later date gives
the same story moved forward. Records go to the store in one bulk write.
"""

import random
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from emulator import seed_data as words
from emulator.ids import derived_id, format_time
from emulator.schema import Base, Field, Record, Table, View
from emulator.store import Store
from emulator.tables import add_tables

#: The moment formula result types are inferred at (keeps the schema reproducible).
SCHEMA_TIME = datetime(2025, 1, 1, tzinfo=UTC)
#: How far back the demo's history goes from the seeding day.
HISTORY_DAYS = 700


class Seeder:
    """Builds one demo base with derived IDs and bulk-inserted records.

    Args:
        store: Where the finished base is saved.
        base_id: The base's fixed ID.
        name: The base's name.
        seed_date: The seeding day ("today" in the story): nothing is created after its
            start, open work is due around it, closed work before it.
    """

    def __init__(self, store: Store, base_id: str, name: str, seed_date: date) -> None:
        self.store = store
        self.base = Base(id=base_id, name=name)
        self.rng = random.Random(f"emulator-demo:{base_id}")
        self.today = seed_date
        self.now = datetime.combine(seed_date, time(), tzinfo=UTC)
        self._declared_links: list[tuple[Table, str]] = []

    def day(self, offset: int) -> date:
        """The day ``offset`` days from the seeding day (negative: before it)."""
        return self.today + timedelta(days=offset)

    def moment(self, on: date) -> datetime:
        """A working-hours moment on ``on``, never later than the seeding day's start."""
        seconds = self.rng.randint(8 * 3600, 18 * 3600)
        at = datetime.combine(on, time(), tzinfo=UTC) + timedelta(seconds=seconds)
        return min(at, self.now - timedelta(seconds=self.rng.randint(60, 7200)))

    def ids(self, prefix: str, key: str) -> str:
        """A stable ID for ``key`` in this base."""
        return derived_id(prefix, "demo", self.base.id, key)

    def select(self, field: str, names: tuple[str, ...], kind: str = "singleSelect") -> Any:
        """A select field definition whose choices have stable IDs."""
        choices = [{"id": self.ids("sel", f"{field}.{n}"), "name": n} for n in names]
        return spec(field, kind, choices=choices)

    def tables(self, specs: list[dict[str, Any]]) -> None:
        """Create the tables (Meta API definitions; links may name tables)."""
        add_tables(self.base, specs, SCHEMA_TIME, self.ids)
        for spec in specs:
            table = self.table(spec["name"])
            for fld in spec["fields"]:
                if fld["type"] == "multipleRecordLinks":
                    self._declared_links.append((table, _field(table, fld["name"]).id))

    def table(self, name: str) -> Table:
        """The table called ``name``."""
        table = self.base.table(name)
        assert table is not None
        return table

    def view(self, table: str, name: str, formula: str | None, sort: list[tuple[str, str]]) -> None:
        """Add a grid view with a filter formula and a sort (field names)."""
        target = self.table(table)
        order = [(_field(target, f).id, d) for f, d in sort]
        target.views.append(View(self.ids("viw", f"{table}.{name}"), name, "grid", formula, order))

    def times(self, count: int, days: int = HISTORY_DAYS) -> list[datetime]:
        """``count`` increasing moments over the ``days`` before the seeding day."""
        span = days * 86400
        offsets = sorted(self.rng.random() * span for _ in range(count))
        return [self.now - timedelta(seconds=span - int(s)) for s in offsets]

    def rows(
        self, table_name: str, rows: list[dict[str, Any]], times: list[datetime] | None = None
    ) -> list[str]:
        """Add records (field name -> value) in creation order; returns their IDs.

        Args:
            table_name: The table.
            rows: One dict per record.
            times: Their creation times (increasing); drawn from the history if omitted.
        """
        table = self.table(table_name)
        ids = []
        moments = times if times is not None else self.times(len(rows))
        for index, (row, created) in enumerate(zip(rows, moments, strict=True)):
            cells = {}
            for name, value in row.items():
                if value is not None and value != "" and value != [] and value is not False:
                    cells[_field(table, name).id] = value
            rec_id = self.ids("rec", f"{table_name}.{index}")
            table.records[rec_id] = Record(
                rec_id, created, format_time(created), created, cells, index + 1
            )
            ids.append(rec_id)
        table.next_auto_number = len(rows) + 1
        return ids

    def finish(self) -> None:
        """Fill inverse links, then save the schema and every record in bulk."""
        for table, field_id in self._declared_links:
            fld = table.field_by_id(field_id)
            linked = self.base.table_by_id(fld.option("linkedTableId"))
            inverse = fld.option("inverseLinkFieldId")
            for record in table.records.values():
                for target in record.cells.get(field_id, []):
                    linked.records[target].cells.setdefault(inverse, []).append(record.id)
        self.store.save_base(self.base)
        self.store.put_records(
            self.base, {t.id: list(t.records.values()) for t in self.base.tables}
        )


def _field(table: Table, name: str) -> Field:
    found = table.field(name)
    assert found is not None, name
    return found


def person(rng: random.Random) -> tuple[str, str]:
    return rng.choice(words.FIRST_NAMES), rng.choice(words.LAST_NAMES)


def phone(rng: random.Random) -> str:
    return f"+1 ({rng.randint(201, 989)}) 555-{rng.randint(1000, 9999)}"


def day(moment: datetime | date, days: int = 0) -> str:
    return (moment + timedelta(days=days)).strftime("%Y-%m-%d")


def slug(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())[:24]


def spec(name: str, kind: str, **options: Any) -> dict[str, Any]:
    """A field definition: ``spec("Amount", "currency", precision=2, symbol="$")``."""
    data: dict[str, Any] = {"name": name, "type": kind}
    if options:
        data["options"] = options
    return data


def link(name: str, table: str, *, single: bool = True) -> dict[str, Any]:
    """A link field definition to the table called ``table``."""
    return spec(name, "multipleRecordLinks", linkedTableId=table, prefersSingleRecordLink=single)


def iso_date(name: str) -> dict[str, Any]:
    """A date field definition shown as ``YYYY-MM-DD``."""
    return spec(name, "date", dateFormat={"name": "iso"})
