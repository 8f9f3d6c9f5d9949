"""A file against RaceEntry: what a file was written from (`binding`, `bases`, `versions`), RaceEntry's
state of its race (`racestate`), which race and base a file is bound to (`targets`), the planning pipeline
(`planning.make`), the plan on disk (`planfolder`), the push journal (`journal`) and the one-shot
commands' library side (`pull`, `convert`, `preview`)."""
