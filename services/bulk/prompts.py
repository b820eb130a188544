"""A saved prompt run "for each record": the prompt becomes a bulk fill's instruction.

Each variable of the prompt is mapped to a field of the table; in the instruction the
variable reads "the record's <field>", and the mapped fields are what the model reads.
The fill is then proposed like any other (count, cost preview, Confirm).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from services.bulk.planning import FillRequest
from services.errors import InvalidInputError
from services.prompts.library import VersionInfo


def prompt_fill_request(
    version: VersionInfo,
    *,
    base_id: str,
    table: str,
    field: str,
    mapping: Mapping[str, str],
    view: str | None = None,
    overwrite: bool = False,
) -> FillRequest:
    """The fill of `field` for every record of `table` (or `view`) with the prompt.

    Raises:
        InvalidInputError: a variable without a field, or no variable at all.
    """
    names = [v.name for v in version.variables]
    missing = [n for n in names if not mapping.get(n)]
    if missing:
        raise InvalidInputError(f"Choose a field for {', '.join(missing)}.")
    if not names:
        raise InvalidInputError(
            "This prompt has no variables, so it would say the same for every record."
        )
    instruction = version.template
    for name in names:
        pattern = re.compile(r"\{\{\s*" + re.escape(name) + r"\s*\}\}")
        instruction = pattern.sub(f"the record's {mapping[name]}", instruction)
    sources = list(dict.fromkeys(mapping[n] for n in names))
    return FillRequest(
        base_id=base_id,
        table=table,
        field=field,
        sources=sources,
        instruction=instruction,
        view=view or None,
        overwrite=overwrite,
    )
