"""The three-way comparison of a file with RaceEntry, one module per job, bottom to top: `values` (a
field's normalised form), `identity` (who a row is), `damage` (what a spreadsheet did to a value),
`validate` (what a row may not send), `plans` (the plan and its items), `teams` (the teams rows name),
`fields` (a tied row field by field), `diff` (`make_plan`: the steps from rows to a plan), `bodies` and
`payloads` (the POST bodies of records and of a plan) and `summary` (a plan in words)."""
