"""The rehearsal server's published defaults, apart from the server itself so the command line can
show them without importing the HTTP server (about 55 ms of every command's start)."""

DEFAULT_EMAIL = "timer@example.com"
DEFAULT_PASSWORD = "rehearse-2026"
BEHAVIOURS = ("documented", "strict")
