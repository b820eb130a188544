"""The Airtable formula engine: ``filterByFormula`` and computed formula fields.

Compile once with ``compile_formula(text, fields)``, then ``evaluate`` per record::

    formula = compile_formula("AND({Status}='Done', {Hours}>=3)", fields)
    kept = [r for r in records if is_truthy(formula.evaluate(context_for(r)))]
"""

from .cells import to_cell_value
from .compiler import Formula, compile_formula
from .errors import FormulaError, UnknownFieldError
from .model import FieldInfo, RecordContext
from .values import ErrorValue, is_truthy

__all__ = [
    "ErrorValue",
    "FieldInfo",
    "Formula",
    "FormulaError",
    "RecordContext",
    "UnknownFieldError",
    "compile_formula",
    "is_truthy",
    "to_cell_value",
]
