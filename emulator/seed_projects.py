"""The "Project Tracker" demo base: Projects and exactly 5,000 Tasks."""

from datetime import date, datetime, timedelta
from typing import Any

from emulator import seed_data as words
from emulator import seed_text as text
from emulator.seeder import Seeder, day, iso_date, link, spec
from emulator.store import Store

PROJECT_TRACKER_ID = "appDemoProjects00"
TASK_COUNT = 5000
OVERDUE = "IF(AND(NOT({Done}), {Due Date}, IS_BEFORE({Due Date}, TODAY())), 1, 0)"


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


def _projects(s: Seeder) -> list[tuple[datetime, dict[str, Any]]]:
    """Projects whose status follows their dates around the seeding day, oldest first."""
    rng, rows = s.rng, []
    for name in words.PROJECT_NAMES:
        kind = rng.choices(("Completed", "Active", "On Hold", "Planning"), (16, 14, 4, 6))[0]
        if kind == "Completed":
            due = s.day(-rng.randint(5, 420))
            start = due - timedelta(days=rng.randint(45, 200))
        elif kind == "Planning":
            start = s.day(rng.randint(5, 60))
            due = start + timedelta(days=rng.randint(45, 180))
        else:
            start = s.day(-rng.randint(20, 200))
            due = s.day(rng.randint(10, 160))
        owner = rng.choice(words.ASSIGNEES)
        created = s.moment(min(start - timedelta(days=rng.randint(14, 30)), s.day(-1)))
        rows.append((created, {
            "Name": name, "Status": kind, "Owner": owner, "Start Date": day(start),
            "Due Date": day(due), "Budget": rng.randint(5, 250) * 1000,
            "Description": text.project_description(rng, name, owner),
        }))  # fmt: skip
    return sorted(rows, key=lambda pair: pair[0])


def _status(s: Seeder, project: str, due: date) -> str:
    """A task's status from its project's state and how far its due date is from today."""
    rng, left = s.rng, (due - s.today).days
    if project == "Completed":
        return "Done" if rng.random() < 0.997 else "Todo"
    if project == "Planning":
        return "Todo" if rng.random() < 0.9 else "In Progress"
    open_weights = (2, 1, 4) if project == "On Hold" else (5, 4, 1)
    done = 0.93 if left < 0 else max(0.03, 0.55 - left / 80)
    if rng.random() < done:
        return "Done"
    return rng.choices(words.TASK_STATUSES[:3], weights=open_weights)[0]


def _tasks(
    s: Seeder, dated: list[tuple[datetime, dict[str, Any]]], ids: list[str]
) -> list[tuple[datetime, dict[str, Any]]]:
    """Tasks inside their project's dates, named without repeats within a project."""
    rng, projects = s.rng, [row for _, row in dated]
    weights = [{"Active": 3.0, "Completed": 1.0, "On Hold": 1.2, "Planning": 0.4}[p["Status"]]
               * rng.uniform(0.5, 1.5) for p in projects]  # fmt: skip
    names = [f"{v} {o}" for v in words.TASK_VERBS for o in words.TASK_OBJECTS]
    used: list[set[str]] = [set() for _ in projects]
    tasks = []
    for _ in range(TASK_COUNT):
        index = rng.choices(range(len(projects)), weights=weights)[0]
        project = projects[index]
        start, end = (
            date.fromisoformat(project["Start Date"]),
            date.fromisoformat(project["Due Date"]),
        )
        due = start + timedelta(days=rng.randint(3, max(3, (end - start).days)))
        opened = max(start - timedelta(days=14), due - timedelta(days=rng.randint(5, 60)))
        opened = min(opened, s.day(-rng.randint(0, 10)) if project["Status"] == "Planning"
                     else s.day(-1))  # fmt: skip
        opened = max(opened, dated[index][0].date())
        name = rng.choice(names)
        while name in used[index]:
            name = rng.choice(names)
        used[index].add(name)
        status = _status(s, project["Status"], due)
        tasks.append((s.moment(opened), {
            "Name": name, "Status": status, "Assignee": rng.choice(words.ASSIGNEES),
            "Priority": rng.choices(words.PRIORITIES, weights=(30, 40, 22, 8))[0],
            "Due Date": day(due),
            "Estimate Hours": rng.choice((0.5, 1, 1.5, 2, 3, 4, 6, 8, 12, 16)),
            "Done": status == "Done", "Tags": rng.sample(words.TAGS, rng.choice((0, 1, 1, 2, 3))),
            "Project": [ids[index]],
            "Notes": text.task_note(rng, name.split(" ", 1)[1]) if rng.random() < 0.3 else None,
        }))  # fmt: skip
    tasks.sort(key=lambda pair: pair[0])
    return tasks


def seed_project_tracker(store: Store, seed_date: date) -> None:
    """Projects (40) with hour rollups and task counts, and Tasks (5,000)."""
    s = Seeder(store, PROJECT_TRACKER_ID, "Project Tracker", seed_date)
    s.tables(_schema(s))
    dated = _projects(s)
    projects = [row for _, row in dated]
    project_ids = s.rows("Projects", projects, [moment for moment, _ in dated])
    tasks = _tasks(s, dated, project_ids)
    s.rows("Tasks", [row for _, row in tasks], [moment for moment, _ in tasks])
    s.view("Projects", "Active projects", "{Status}='Active'", [("Due Date", "asc")])
    s.view("Tasks", "Open tasks", "NOT({Done})", [("Due Date", "asc")])
    s.view("Tasks", "Overdue", "{Overdue}=1", [("Due Date", "asc"), ("Priority", "desc")])
    s.finish()
