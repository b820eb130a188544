"""Notes and descriptions for the demo bases: templates with real variation.

Each text is put together from parts drawn with the base's RNG and the record's own
details (a person, a product, a day), so a table holds hundreds of distinct texts that
read like ones people write, and the same seed gives the same texts.
"""

import random

from emulator import seed_data as words

_TASK_OPENERS = (
    "Waiting on {person} for", "Paired with {person} on", "Need sign-off from {person} on",
    "Started", "Split out", "Reopened", "Picked up", "Scoped down", "Estimated", "Reviewed",
    "Asked {person} about", "Handed over",
)  # fmt: skip
_TASK_DETAILS = (
    "the edge cases in {thing}", "the first draft of {thing}", "feedback on {thing}",
    "the test plan for {thing}", "the open questions about {thing}", "the rollout of {thing}",
    "a smaller version of {thing}", "the numbers behind {thing}", "{thing} for the pilot team",
)  # fmt: skip
_TASK_CLOSERS = (
    "", "", "Follow up on {weekday}.", "Target: before the {weekday} demo.",
    "Customer asked for this in the last QBR.", "Spec is in the shared drive.",
    "Blocked until the API change ships.", "Keep scope small.", "Ask QA to check it first.",
    "Budget approved.", "Needs a design review.", "Moved from last sprint.",
)  # fmt: skip
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")


def task_note(rng: random.Random, thing: str) -> str:
    """A note on a task about ``thing``."""
    person = rng.choice(words.ASSIGNEES)
    opener = rng.choice(_TASK_OPENERS).format(person=person)
    detail = rng.choice(_TASK_DETAILS).format(thing=thing)
    closer = rng.choice(_TASK_CLOSERS).format(weekday=rng.choice(_WEEKDAYS))
    return f"{opener} {detail}. {closer}".strip()


_GOALS = (
    "cut {metric} by {pct}%", "raise {metric} by {pct}%", "ship to {share}% of customers",
    "replace the old process for the {team} team", "give the {team} team one place to work",
)  # fmt: skip
_METRICS = ("support tickets", "page load time", "churn", "onboarding time", "manual work",
            "checkout drop-off", "time to close", "infrastructure cost")  # fmt: skip
_TEAMS = ("sales", "support", "finance", "operations", "marketing", "engineering", "people")
_RISKS = (
    "Main risk: vendor timelines.", "Depends on the data migration.", "Needs legal review.",
    "Shares engineers with another project.", "Scope agreed with leadership.",
    "Hiring one more designer would de-risk it.", "Budget reviewed every quarter.",
)  # fmt: skip


def project_description(rng: random.Random, name: str, owner: str) -> str:
    """What a project is for, who leads it and its main risk."""
    goal = rng.choice(_GOALS).format(
        metric=rng.choice(_METRICS), pct=rng.choice((10, 15, 20, 25, 30, 40)),
        share=rng.choice((25, 50, 100)), team=rng.choice(_TEAMS),
    )  # fmt: skip
    return f"{name}: {goal}. Led by {owner}. {rng.choice(_RISKS)}"


_CONTACT_NOTES = (
    "Prefers email over calls.", "Met at the {event}.", "Decides on renewals.",
    "Asked for a demo of {topic}.", "Reports to the {title}.", "Interested in {topic}.",
    "Champion for {topic}; loop in before pricing talks.", "Out of office until {month}.",
    "Introduced by a partner at the {event}.", "Evaluating a competitor for {topic}.",
    "Wants quarterly business reviews.", "Signs off budgets over $50k.",
)  # fmt: skip
_EVENTS = ("spring trade show", "partner summit", "regional meetup", "user conference",
           "industry webinar", "customer roundtable")  # fmt: skip
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")  # fmt: skip


def contact_note(rng: random.Random) -> str:
    """One or two remarks a salesperson might keep about a contact."""
    parts = rng.sample(_CONTACT_NOTES, rng.choice((1, 1, 2)))
    return " ".join(
        p.format(event=rng.choice(_EVENTS), topic=rng.choice(words.DEAL_PRODUCTS).lower(),
                 title=rng.choice(words.JOB_TITLES), month=rng.choice(_MONTHS))
        for p in parts
    )  # fmt: skip
