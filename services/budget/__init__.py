"""The budget guard around every model call: pricing, reservations, ledger, budgets, alerts.

Modules: `guard` (BudgetGuard: reserve/settle/refund), `pricing` (costs in nano-USD),
`budgets` (per-user and org budgets), `ledger` (one SQL row per call), `alerts` (50/80/100%),
`rates` (per-minute limits), `reaper` (leaked reservations, reconciliation), `usage`
(limits and spend of a user), `errors` (typed refusals), `models` (SQL tables).
"""
