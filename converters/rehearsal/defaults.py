"""The rehearsal server's published defaults, apart from the server itself so the command line can
show them without importing the HTTP server (about 55 ms of every command's start)."""

DEFAULT_EMAIL = "timer@example.com"
DEFAULT_PASSWORD = "rehearse-2026"
BEHAVIOURS = ("documented", "strict")

# Named quirks (``timersync serve --quirk NAME``, repeatable; ``start_background(quirks=...)``;
# ``POST /_control/options {"quirks": [...]}``): behaviours a real RaceEntry plausibly has beside what its
# document shows, each one switchable on its own so it can be rehearsed (the server's Handler.apply_quirks
# says how each is made). Name -> what it does, as `serve --help` shows it.
QUIRKS = {
    "loose-typing": "documented fields in other plausible typings (ids as text, flags as 0/1 or Y/N, null "
                    "for empty lists, dob as MM/DD/YYYY, last_modified as date-time text)",
    "paging": "participants are paged as RunSignup pages them (page, results_per_page up to 2500, "
              "after_registration_id), which the document never shows",
    "page-cap": "paging, with every page cut to 100 rows whatever results_per_page asks, unsaid",
    "race-events": "the races answer lists each race's events with RunSignup's details (name, times, "
                   "distance); the document's example shows \"events\": []",
    "rows-in-event": "each event's participants inside its event object (\"event\": {\"participants\": "
                     "[...]}), the list beside it empty",
    "inclusive-since": "modified_after_timestamp read as \"on or after\" (the document: \"after\")",
    "replace-updates": "an update replaces the record: the user and address sent replace the stored ones, "
                       "so every field not sent becomes blank",
    "new-id-switch": "switching events gives a new registration id (the old one goes to the removed feed)",
    "reversed-answers": "POST answers list their ids in reverse order",
    "message-errors": "errors as {\"message\": \"...\"} (RaceEntry's older API), with HTTP 200",
    "403-key": "a missing, bad or expired key is answered HTTP 403 (not error 102)",
    "https-redirect": "a login is answered 301 to the same API at /moved/rest, as http:// -> https:// "
                      "would move it",
    "bom": "a UTF-8 byte-order mark and a line break before every answer's JSON",
    "php-notice": "a PHP notice (HTML) before every answer's JSON",
}
