"""timersync: keep RaceEntry registrations and race-timing software in step."""

__version__ = "0.1.0"
