"""Bulk fill: one field filled by the model for every record of a table, view or filter.

`planning` reads the records and prices the fill before anything runs (the card),
`runs` keeps the run and its records in SQL and starts it on Confirm, `engine` is the
durable DBOS workflow the worker executes (two DBOS steps per batch: ask, then write).
"""
