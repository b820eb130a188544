"""The "Project Tracker" demo base: Projects and exactly 5,000 Tasks."""

from datetime import UTC, datetime
from typing import Any

from emulator import seed_data as words
from emulator.seeder import Seeder, day, iso_date, link, spec
from emulator.store import Store

PROJECT_TRACKER_ID = "appDemoProjects00"
TASK_COUNT = 5000
OVERDUE = "IF(AND(NOT({Done}), {Due Date}, IS_BEFORE({Due Date}, TODAY())), 1, 0)"
_RECENT = datetime(2026, 6, 1, tzinfo=UTC)


def _schema(s: Seeder) -> list[dict[str, Any]]:
    whole = {"type": "number", "options": {"precision": 0}}
    projects = [
        spec("Name", "singleLineText"),
        s.select("Status", words.PROJECT_STATUSES),
        s.select("Owner", words.ASSIGNEES),
        iso_date("Start Date"),
        iso_date("Due Date"),
        spec("Budget", "currency", precision=0, symbol="$"),
        spec("Description", "multilineText"),
        spec("Task Count", "count", recordLinkFieldId="Tasks"),
        spec("Total Hours", "rollup", recordLinkFieldId="Tasks",
             fieldIdInLinkedTable="Estimate Hours", formula="SUM(values)"),
    ]  # fmt: skip
    tasks = [
        spec("Name", "singleLineText"),
        s.select("Status", words.TASK_STATUSES),
        s.select("Assignee", words.ASSIGNEES),
        s.select("Priority", words.PRIORITIES),
        iso_date("Due Date"),
        spec("Estimate Hours", "number", precision=1),
        spec("Done", "checkbox"),
        s.select("Tags", words.TAGS, "multipleSelects"),
        link("Project", "Projects"),
        spec("Notes", "multilineText"),
        spec("Overdue", "formula", formula=OVERDUE, result=whole),
        spec("Days Until Due", "formula", formula="DATETIME_DIFF({Due Date}, TODAY(), 'days')",
             result=whole),
    ]  # fmt: skip
    return [
        {"name": "Projects", "description": "Initiatives and their owners.", "fields": projects},
        {"name": "Tasks", "description": "Work items, one project each.", "fields": tasks},
    ]


def seed_project_tracker(store: Store) -> None:
    """Projects (40) with hour rollups and task counts, and Tasks (5,000)."""
    s = Seeder(store, PROJECT_TRACKER_ID, "Project Tracker")
    rng = s.rng
    s.tables(_schema(s))
    projects = []
    for name, start in zip(words.PROJECT_NAMES, s.times(len(words.PROJECT_NAMES)), strict=True):
        status = "Completed" if start < _RECENT and rng.random() < 0.6 else None
        projects.append({
            "Name": name, "Status": status or rng.choice(words.PROJECT_STATUSES[:3]),
            "Owner": rng.choice(words.ASSIGNEES), "Start Date": day(start),
            "Due Date": day(start, rng.randint(30, 240)), "Budget": rng.randint(5, 250) * 1000,
            "Description": f"{name}: goals, milestones and owners are tracked in Tasks.",
        })  # fmt: skip
    project_ids = s.rows("Projects", projects)
    weights = [rng.uniform(0.3, 3.0) for _ in project_ids]
    tasks, times = [], s.times(TASK_COUNT)
    for created in times:
        old = created < _RECENT
        if rng.random() < (0.85 if old else 0.35):
            status = "Done"
        else:
            status = rng.choices(words.TASK_STATUSES[:3], weights=(5, 4, 1))[0]
        tasks.append({
            "Name": f"{rng.choice(words.TASK_VERBS)} {rng.choice(words.TASK_OBJECTS)}",
            "Status": status, "Assignee": rng.choice(words.ASSIGNEES),
            "Priority": rng.choices(words.PRIORITIES, weights=(30, 40, 22, 8))[0],
            "Due Date": day(created, rng.randint(3, 75)),
            "Estimate Hours": rng.choice((0.5, 1, 1.5, 2, 3, 4, 6, 8, 12, 16)),
            "Done": status == "Done", "Tags": rng.sample(words.TAGS, rng.choice((0, 1, 1, 2, 3))),
            "Project": [rng.choices(project_ids, weights=weights)[0]],
            "Notes": rng.choice(words.TASK_NOTES) if rng.random() < 0.3 else None,
        })  # fmt: skip
    s.rows("Tasks", tasks, times)
    s.view("Projects", "Active projects", "{Status}='Active'", [("Due Date", "asc")])
    s.view("Tasks", "Open tasks", "NOT({Done})", [("Due Date", "asc")])
    s.view("Tasks", "Overdue", "{Overdue}=1", [("Due Date", "asc"), ("Priority", "desc")])
    s.finish()
