"""The "Sales CRM" demo base: Companies, Contacts and Deals."""

from datetime import date, datetime, timedelta
from typing import Any

from emulator import seed_data as words
from emulator import seed_text as text
from emulator.seeder import HISTORY_DAYS, Seeder, day, iso_date, link, phone, slug, spec
from emulator.store import Store

SALES_CRM_ID = "appDemoSalesCRM00"
_COMPANIES, _CONTACTS, _DEALS = 200, 600, 1500
_SHARED_NAMES = 4


def _schema(s: Seeder) -> list[dict[str, Any]]:
    companies = [
        spec("Name", "singleLineText"),
        s.select("Industry", tuple(words.COMPANY_KINDS)),
        spec("Website", "url"),
        spec("Employees", "number", precision=0),
        s.select("Country", words.COUNTRIES),
        spec("Annual Revenue", "currency", precision=0, symbol="$"),
        spec("Phone", "phoneNumber"),
        iso_date("Customer Since"),
        spec("Active", "checkbox"),
        spec("Deal Count", "count", recordLinkFieldId="Deals"),
        spec("Total Deal Value", "rollup", recordLinkFieldId="Deals",
             fieldIdInLinkedTable="Amount", formula="SUM(values)"),
    ]  # fmt: skip
    contacts = [
        spec("Name", "singleLineText"),
        spec("Email", "email"),
        spec("Phone", "phoneNumber"),
        spec("Title", "singleLineText"),
        link("Company", "Companies"),
        s.select("Lead Source", words.LEAD_SOURCES),
        iso_date("Last Contacted"),
        spec("Notes", "multilineText"),
    ]
    money = {"type": "currency", "options": {"precision": 2, "symbol": "$"}}
    deals = [
        spec("Name", "singleLineText"),
        s.select("Stage", words.DEAL_STAGES),
        spec("Amount", "currency", precision=2, symbol="$"),
        iso_date("Close Date"),
        s.select("Owner", words.SALESPEOPLE),
        link("Company", "Companies"),
        link("Primary Contact", "Contacts"),
        spec("Probability", "percent", precision=0),
        spec("Weighted Amount", "formula", formula="{Amount} * {Probability}", result=money),
        spec("Strategic", "checkbox"),
    ]
    return [
        {"name": "Companies", "description": "Accounts we sell to.", "fields": companies},
        {"name": "Contacts", "description": "People at our accounts.", "fields": contacts},
        {"name": "Deals", "description": "Opportunities by stage.", "fields": deals},
    ]


def _companies(s: Seeder) -> list[tuple[datetime, dict[str, Any]]]:
    """Companies as first met (oldest first); customer fields are set once deals exist."""
    rng = s.rng
    names: set[str] = set()
    rows: list[tuple[datetime, dict[str, Any]]] = []
    for met in s.times(_COMPANIES, days=HISTORY_DAYS):
        while True:
            industry = rng.choice(tuple(words.COMPANY_KINDS))
            parts = (rng.choice(words.COMPANY_ROOTS), rng.choice(words.COMPANY_KINDS[industry]),
                     rng.choice(words.COMPANY_SUFFIXES))  # fmt: skip
            name = " ".join(p for p in parts if p)
            if name not in names:
                break
        names.add(name)
        rows.append((met, {
            "Name": name, "Industry": industry, "Website": f"https://www.{slug(name)}.example.com",
            "Employees": rng.choice((12, 25, 48, 90, 150, 320, 800, 2400)) + rng.randint(0, 9),
            "Country": rng.choice(words.COUNTRIES), "Annual Revenue": rng.randint(5, 4000) * 10_000,
            "Phone": phone(rng),
        }))  # fmt: skip
    return rows


def _contacts(
    s: Seeder, companies: list[tuple[datetime, dict[str, Any]]], company_ids: list[str]
) -> tuple[list[tuple[datetime, dict[str, Any]]], list[int]]:
    """Contacts, each met after their company was; a few share a name with another."""
    rng = s.rng
    everyone = [f"{f} {l}" for f in words.FIRST_NAMES for l in words.LAST_NAMES]  # noqa: E741
    names = rng.sample(everyone, _CONTACTS)
    for twin in range(1, _SHARED_NAMES + 1):  # real address books have a few namesakes
        names[-twin] = names[twin * 7]
    rows, owners = [], []
    for name in names:
        index = rng.randrange(len(companies))
        met = companies[index][0] + timedelta(days=rng.randint(0, 60))
        met = min(met, s.now - timedelta(hours=rng.randint(2, 400)))
        first, last = name.split(" ", 1)
        domain = f"{slug(companies[index][1]['Name'])}.example.com"
        contacted = (
            s.day(-rng.randint(0, max(0, (s.now - met).days))) if rng.random() < 0.8 else None
        )
        rows.append((met, {
            "Name": name, "Email": f"{slug(first)}.{slug(last)}@{domain}",
            "Phone": phone(rng), "Title": rng.choice(words.JOB_TITLES),
            "Company": [company_ids[index]], "Lead Source": rng.choice(words.LEAD_SOURCES),
            "Last Contacted": day(contacted) if contacted else None,
            "Notes": text.contact_note(rng) if rng.random() < 0.6 else None,
        }))  # fmt: skip
        owners.append(index)
    order = sorted(range(len(rows)), key=lambda i: rows[i][0])
    return [rows[i] for i in order], [owners[i] for i in order]


def _deal(s: Seeder, opened: datetime, skill: float) -> tuple[str, date]:
    """A deal's stage and close date: closed ones closed before today, open ones ahead."""
    rng, age = s.rng, (s.now - opened).days
    closed = age > 150 or rng.random() < min(0.9, age / 160)
    if closed:
        stage = "Closed Won" if rng.random() < skill else "Closed Lost"
        close = min(opened.date() + timedelta(days=rng.randint(10, 120)), s.day(-1))
        return stage, max(close, opened.date())
    stages = words.DEAL_STAGES[:4]
    progress = min(3, int(age / 30 + rng.random() * 2))
    stage = stages[progress]
    slipped = rng.random() < 0.02  # a few deals are past their expected close
    return stage, s.day(-rng.randint(1, 14) if slipped else rng.randint(5, 120))


def seed_sales_crm(store: Store, seed_date: date) -> None:
    """Companies (200), Contacts (600) and Deals (1,500) with a weighted-amount formula."""
    s = Seeder(store, SALES_CRM_ID, "Sales CRM", seed_date)
    rng = s.rng
    s.tables(_schema(s))
    companies = _companies(s)
    first_won: dict[int, date] = {}
    deals = []
    appeal = [rng.paretovariate(1.5) for _ in companies]
    skills = {p: rng.uniform(0.4, 0.72) for p in words.SALESPEOPLE}
    account_owner = [rng.choice(words.SALESPEOPLE) for _ in companies]
    products = [rng.sample(words.DEAL_PRODUCTS, len(words.DEAL_PRODUCTS)) for _ in companies]
    deal_count = [0] * len(companies)
    for opened in s.times(_DEALS, days=HISTORY_DAYS - 20):
        index = rng.choices(range(len(companies)), weights=appeal)[0]
        opened = max(opened, companies[index][0])
        owner = account_owner[index] if rng.random() < 0.85 else rng.choice(words.SALESPEOPLE)
        stage, close = _deal(s, opened, skills[owner])
        if stage == "Closed Won":
            first_won[index] = min(first_won.get(index, close), close)
        product = products[index][deal_count[index] % len(words.DEAL_PRODUCTS)]
        deal_count[index] += 1
        deals.append((opened, {
            "Name": f"{companies[index][1]['Name']} - {product}", "Stage": stage,
            "Amount": rng.randint(20, 2500) * 100, "Close Date": day(close), "Owner": owner,
            "Probability": words.STAGE_PROBABILITY[stage], "Strategic": rng.random() < 0.15,
        }, index))  # fmt: skip
    for index, (_, company) in enumerate(companies):
        won = first_won.get(index)
        company["Customer Since"] = day(won) if won else None
        company["Active"] = won is not None
    company_ids = s.rows("Companies", [c for _, c in companies], [m for m, _ in companies])
    contacts, contact_company = _contacts(s, companies, company_ids)
    contact_ids = s.rows("Contacts", [c for _, c in contacts], [m for m, _ in contacts])
    by_company: dict[int, list[str]] = {}
    for contact_id, index in zip(contact_ids, contact_company, strict=True):
        by_company.setdefault(index, []).append(contact_id)
    deals.sort(key=lambda d: d[0])
    for _, deal, index in deals:
        deal["Company"] = [company_ids[index]]
        people = by_company.get(index)
        deal["Primary Contact"] = [rng.choice(people)] if people else None
    s.rows("Deals", [d for _, d, _ in deals], [m for m, _, _ in deals])
    s.view("Companies", "Active customers", "{Active}", [("Name", "asc")])
    s.view("Contacts", "Recently contacted", "{Last Contacted}", [("Last Contacted", "desc")])
    open_deals = "AND({Stage}!='Closed Won', {Stage}!='Closed Lost')"
    s.view("Deals", "Open pipeline", open_deals, [("Close Date", "asc")])
    s.view("Deals", "Closed won", "{Stage}='Closed Won'", [("Amount", "desc")])
    s.finish()
