"""Timing files in and out, through a mapping profile (`profiles`): one reader (`reader`, a column at a time
in `cells`), one writer (`writer`), one module per kind of file and direction (`delimited`,
`delimited_write` for CSV and tab-delimited text; `xlsx`, `xlsx_write`, `xlsx_guard` for workbooks), the
character sets (`charsets`), the file record both share (`records`) and ids written back (`write_ids`)."""
