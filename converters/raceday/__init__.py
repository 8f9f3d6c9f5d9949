"""The race-day loops: `sync` keeps files current with RaceEntry (`sync_outputs`, `sync_report`); `watch`
converts and plans what lands in a drop folder (`watch_config`, `inbox`, `dropped`, `outcomes`)."""
