"""Race-day edits a timer makes in a RunScore CSV pulled by timersync (used in the README transcript):
rename a runner, switch one to another event by typing its name, swap a bib, add a late registration
on a new team. Event names are typed as the file shows them (a RaceEntry whose races answer lists no
events leaves the ids there). Usage: python3 samples/race_day_edit.py runscore.csv"""
import csv, sys
path = sys.argv[1]
rows = list(csv.reader(open(path, encoding="utf-8-sig", newline="")))
h = rows[0]
shown = {r[h.index("Event ID")]: r[h.index("Event")] for r in rows[1:]}  # event id -> the name in the file
rows[1][h.index("First Name")] = "Ingrid-Marie"                       # a corrected name
rows[2][h.index("Event")] = shown.get("67", "Half Marathon")          # a race-day event switch
rows[3][h.index("Bib")] = "9999"                                      # a bib swap (RaceEntry has no bib field)
new = [""] * len(h)
for k, v in {"First Name": "Late", "Last Name": "O'Registrant", "Sex": "F", "Date of Birth": "07/04/1990",
             "Event": shown.get("68", "10K"), "Team": "Track Pack", "Email": "late@example.com"}.items():
    new[h.index(k)] = v
rows.append(new)                                                      # a late registration on a new team
with open(path, "w", encoding="utf-8-sig", newline="") as f:
    csv.writer(f, lineterminator="\r\n").writerows(rows)
