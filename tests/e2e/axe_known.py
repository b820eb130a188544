"""The accessibility violations that come from Streamlit's own chrome, not from our markup.

The axe browser test (`tests/e2e/test_accessibility.py`) fails on every serious or critical
violation except the ones listed here, each by axe rule and by the CSS selector of the
Streamlit element it was seen inside. Seen on the Streamlit version below: after an
upgrade, re-run the test and prune (or, only for Streamlit's own elements, extend) the list.
"""

from __future__ import annotations

from dataclasses import dataclass

STREAMLIT_VERSION = "1.67.0"


@dataclass(frozen=True)
class KnownViolation:
    """An axe `rule` excused for nodes inside (or equal to) elements matching `within`."""

    rule: str
    within: str
    why: str


STREAMLIT_CHROME: tuple[KnownViolation, ...] = (
    KnownViolation(
        rule="list",
        within='[data-testid="stSidebarNav"]',
        why="The sidebar navigation's <ul> holds <div> wrappers between it and its <li>.",
    ),
    KnownViolation(
        rule="listitem",
        within='[data-testid="stSidebarNav"]',
        why="The sidebar navigation's <li> sit in a <div>, not directly in its <ul>.",
    ),
)
