"""The "Sales CRM" demo base: Companies, Contacts and Deals."""

from typing import Any

from emulator import seed_data as words
from emulator.seeder import Seeder, day, iso_date, link, person, phone, slug, spec
from emulator.store import Store

SALES_CRM_ID = "appDemoSalesCRM00"
_NOTES = ("", "", "Prefers email.", "Met at the spring trade show.", "Decides on renewals.")


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


def _companies(s: Seeder) -> list[dict[str, Any]]:
    rng = s.rng
    names: set[str] = set()
    rows: list[dict[str, Any]] = []
    while len(rows) < 200:
        industry = rng.choice(tuple(words.COMPANY_KINDS))
        parts = (rng.choice(words.COMPANY_ROOTS), rng.choice(words.COMPANY_KINDS[industry]),
                 rng.choice(words.COMPANY_SUFFIXES))  # fmt: skip
        name = " ".join(p for p in parts if p)
        if name in names:
            continue
        names.add(name)
        rows.append({
            "Name": name, "Industry": industry, "Website": f"https://www.{slug(name)}.example.com",
            "Employees": rng.choice((12, 25, 48, 90, 150, 320, 800, 2400)) + rng.randint(0, 9),
            "Country": rng.choice(words.COUNTRIES), "Annual Revenue": rng.randint(5, 4000) * 10_000,
            "Phone": phone(rng), "Customer Since": day(s.times(1)[0]), "Active": rng.random() < 0.7,
        })  # fmt: skip
    return rows


def seed_sales_crm(store: Store) -> None:
    """Companies (200), Contacts (600) and Deals (1,500) with a weighted-amount formula."""
    s = Seeder(store, SALES_CRM_ID, "Sales CRM")
    rng = s.rng
    s.tables(_schema(s))
    companies = _companies(s)
    company_ids = s.rows("Companies", companies)
    contacts, contact_company = [], []
    for _ in range(600):
        first, last = person(rng)
        index = rng.randrange(len(companies))
        contact_company.append(index)
        domain = f"{slug(companies[index]['Name'])}.example.com"
        contacts.append({
            "Name": f"{first} {last}", "Email": f"{slug(first)}.{slug(last)}@{domain}",
            "Phone": phone(rng), "Title": rng.choice(words.JOB_TITLES),
            "Company": [company_ids[index]], "Lead Source": rng.choice(words.LEAD_SOURCES),
            "Last Contacted": day(s.times(1)[0]) if rng.random() < 0.8 else None,
            "Notes": rng.choice(_NOTES),
        })  # fmt: skip
    contact_ids = s.rows("Contacts", contacts)
    by_company: dict[int, list[str]] = {}
    for contact_id, index in zip(contact_ids, contact_company, strict=True):
        by_company.setdefault(index, []).append(contact_id)
    deals, times = [], s.times(1500)
    for created in times:
        index = rng.randrange(len(companies))
        stage = rng.choices(words.DEAL_STAGES, weights=(20, 18, 15, 12, 22, 13))[0]
        people = by_company.get(index)
        deals.append({
            "Name": f"{companies[index]['Name']} - {rng.choice(words.DEAL_PRODUCTS)}",
            "Stage": stage, "Amount": rng.randint(20, 2500) * 100,
            "Close Date": day(created, rng.randint(10, 120)),
            "Owner": rng.choice(words.SALESPEOPLE), "Company": [company_ids[index]],
            "Primary Contact": [rng.choice(people)] if people else None,
            "Probability": words.STAGE_PROBABILITY[stage], "Strategic": rng.random() < 0.15,
        })  # fmt: skip
    s.rows("Deals", deals, times)
    s.view("Companies", "Active customers", "{Active}", [("Name", "asc")])
    s.view("Contacts", "Recently contacted", "{Last Contacted}", [("Last Contacted", "desc")])
    open_deals = "AND({Stage}!='Closed Won', {Stage}!='Closed Lost')"
    s.view("Deals", "Open pipeline", open_deals, [("Close Date", "asc")])
    s.view("Deals", "Closed won", "{Stage}='Closed Won'", [("Amount", "desc")])
    s.finish()
