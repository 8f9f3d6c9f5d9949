"""Character sets of delimited text files: which one a file's bytes are in, and what a target cannot hold.

Reading tries, in order: the ``--encoding`` override, a byte-order mark (UTF-8, UTF-16), UTF-16 without
one, strict UTF-8, then Windows-1252 (what Windows spreadsheets save "CSV" as) when the text reads as
names; anything else (Shift-JIS, Greek Windows-1253...) is refused with ``charset-normalizer``'s guess and
the ``--encoding`` to give, never decoded by a guess. UTF-8 that a spreadsheet read as Windows-1252 and
saved again is undone (:func:`undo_double_encoding`). For writing, a Windows-1252 target gets characters
it cannot hold transliterated (:func:`to_cp1252`, ``anyascii``: Łukasz -> Lukasz).
"""

from __future__ import annotations

import codecs
import re
import unicodedata

from ..errors import InputError

_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def decode(data: bytes, file: str, encoding: str | None = None) -> tuple[str, str]:
    """Bytes -> (text, encoding used).

    The ``--encoding`` override; a byte-order mark; UTF-16 without one (NULs in every other byte); strict
    UTF-8 (with :func:`undo_double_encoding`); Windows-1252 when the text it gives reads as names. Anything
    else is refused with the detector's guess and the ``--encoding`` to give, never decoded by a guess:
    a Shift-JIS file read as Windows-1252 would push ``ŽR“c`` over ``山田``."""
    if encoding:
        try:
            codec = codecs.lookup(encoding).name
        except LookupError:
            raise InputError(f"unknown encoding {encoding!r}; try utf-8, cp1252, shift_jis, cp1253 (Greek) or "
                             f"utf-16", file=file) from None
        if codec in ("utf-8", "utf-16") and any(data.startswith(bom) for bom, _ in _BOMS):
            encoding = "utf-8-sig" if codec == "utf-8" else encoding  # the BOM is not a character of the text
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError as exc:
            raise InputError(f"not valid {encoding} (byte {exc.start}); try another --encoding", file=file) from None
    for bom, name in _BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(name)
            except UnicodeDecodeError:
                raise InputError(f"starts with a {name} byte-order mark but is not valid {name}; "
                                 f"pass --encoding", file=file) from None
            return undo_double_encoding(text), name
    if b"\x00" in data:
        utf16 = _utf16_without_bom(data)
        if utf16 is not None:
            return utf16
    try:
        return undo_double_encoding(data.decode("utf-8")), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        text = None  # bytes Windows-1252 leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D)
    symbols, shape_ok = _reads_as_names(text) if text is not None else (True, False)
    if text is not None and not symbols and shape_ok:
        return text, "cp1252"
    guess = _detect(data)
    if text is not None and not symbols and guess is not None and guess[0] in _LATIN1_FAMILY:
        return text, "cp1252"  # the detector agrees: names that are mostly accented letters (Þórður Ærø)
    raise InputError(_unclear(data, guess), file=file)


# The codecs a detector may name for text that Windows-1252 reads the same (for names).
_LATIN1_FAMILY = {"cp1252", "latin_1", "iso8859_15", "windows-1252", "iso-8859-1", "ascii"}

# Non-letters that do occur in names, addresses and event names written in Windows-1252.
_NAME_PUNCT = set("\xa0’´–—…€£°·½©®™§")
# ... but only next to a space or punctuation, never between two letters ("ŽR“c" is 山田 in Shift-JIS).
_BOUNDARY_PUNCT = set("‘“”„«»¿¡")
_CURRENCY = set("€£¥")
_NOT_NAME_LETTERS = set("ƒˆ˜")  # florin sign, modifier circumflex, small tilde: Windows-1252, never names
_NON_ASCII_WORD = re.compile(r"[^\W\d_]*[^\x00-\x7f][^\W\d_]*")


def _reads_as_names(text: str) -> tuple[bool, bool]:
    """(has symbols that do not occur in names, the words look like names) for Windows-1252-decoded text.

    Symbols: anything non-ASCII that is neither a letter nor in a short list of typographic punctuation
    (``‰ † • ¾ ¹ ³ ×``: what Shift-JIS, Windows-1250 ``ł`` or Greek ``÷`` become), quotes between letters,
    a currency sign glued to a following letter (``£ukasz``). Shape: in words with accented letters, at
    most half the letters are accented (``Núñez`` 2 of 5; Greek read as Windows-1252 is ``Ãéþñãïò``)."""
    odd = set(text) - _ASCII
    if not odd:
        return False, True
    for ch in odd:
        if ch in _NOT_NAME_LETTERS:
            return True, False
        if ch in _NAME_PUNCT or ch in _BOUNDARY_PUNCT:
            continue
        if not unicodedata.category(ch).startswith("L"):
            return True, False
    for ch in odd & (_BOUNDARY_PUNCT | _CURRENCY):
        for match in re.finditer(re.escape(ch), text):
            i = match.start()
            before = text[i - 1] if i else " "
            after = text[i + 1] if i + 1 < len(text) else " "
            if ch in _CURRENCY:
                if after.isalpha():
                    return True, False
            elif before.isalpha() and after.isalpha():
                return True, False
    accented = letters = 0
    for word in _NON_ASCII_WORD.findall(text):
        letters += len(word)
        accented += sum(not c.isascii() for c in word)
    return False, accented * 2 <= letters


_ASCII = {chr(i) for i in range(128)}


def _utf16_without_bom(data: bytes) -> tuple[str, str] | None:
    """UTF-16 LE or BE without a byte-order mark, as Excel's "Unicode text" and some exports are: most
    characters of a timing file are ASCII, so every other byte is NUL (odd positions LE, even BE)."""
    sample = data[:65536]
    half = len(sample) // 2
    if half < 2:
        return None
    nul_even = sample[0::2].count(0)
    nul_odd = sample[1::2].count(0)
    for nuls, others, name in ((nul_odd, nul_even, "utf-16-le"), (nul_even, nul_odd, "utf-16-be")):
        if nuls >= half * 0.2 and others <= nuls * 0.05:
            body = data if len(data) % 2 == 0 else data[:-1] if data[-1] == 0 else None
            if body is None:
                return None
            try:
                text = body.decode(name)
            except UnicodeDecodeError:
                return None
            if _FOREIGN.search(text):
                return None  # C0/C1 controls, private use, lone surrogates: not UTF-16 after all
            return text, name
    return None


# Characters that do not occur in names or timing files: C0 controls but tab/CR/LF, C1 controls,
# box drawing and block elements, private use, surrogates, U+FFFE/U+FFFF.
_FOREIGN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2500-\u259f\ud800-\uf8ff\ufffe\uffff]")

# The detector's codec -> (what people call it, the --encoding to give).
_NAMES = {
    "cp932": ("Shift-JIS", "shift_jis"), "shift_jis": ("Shift-JIS", "shift_jis"),
    "shift_jis_2004": ("Shift-JIS", "shift_jis"), "shift_jisx0213": ("Shift-JIS", "shift_jis"),
    "euc_jp": ("EUC-JP, Japanese", "euc_jp"), "euc_jis_2004": ("EUC-JP, Japanese", "euc_jp"),
    "iso2022_jp": ("ISO-2022-JP, Japanese", "iso2022_jp"),
    "gb2312": ("GBK, Simplified Chinese", "gb18030"), "gbk": ("GBK, Simplified Chinese", "gb18030"),
    "gb18030": ("GBK, Simplified Chinese", "gb18030"), "hz": ("GBK, Simplified Chinese", "gb18030"),
    "big5": ("Big5, Traditional Chinese", "big5"), "big5hkscs": ("Big5, Traditional Chinese", "big5hkscs"),
    "cp949": ("EUC-KR, Korean", "cp949"), "euc_kr": ("EUC-KR, Korean", "cp949"), "johab": ("Johab, Korean", "johab"),
    "cp1250": ("Windows-1250, Central European", "cp1250"), "iso8859_2": ("Windows-1250, Central European", "cp1250"),
    "cp1251": ("Windows-1251, Cyrillic", "cp1251"), "koi8_r": ("KOI8-R, Cyrillic", "koi8_r"),
    "koi8_u": ("KOI8-U, Cyrillic", "koi8_u"), "iso8859_5": ("ISO-8859-5, Cyrillic", "iso8859_5"),
    "mac_cyrillic": ("Mac Cyrillic", "mac_cyrillic"), "cp866": ("DOS Cyrillic", "cp866"),
    "cp1253": ("Windows-1253, Greek", "cp1253"), "iso8859_7": ("ISO-8859-7, Greek", "iso8859_7"),
    "mac_greek": ("Mac Greek", "mac_greek"),
    "cp1254": ("Windows-1254, Turkish", "cp1254"), "iso8859_9": ("Windows-1254, Turkish", "cp1254"),
    "cp1255": ("Windows-1255, Hebrew", "cp1255"), "iso8859_8": ("ISO-8859-8, Hebrew", "iso8859_8"),
    "cp1256": ("Windows-1256, Arabic", "cp1256"), "iso8859_6": ("ISO-8859-6, Arabic", "iso8859_6"),
    "cp1257": ("Windows-1257, Baltic", "cp1257"), "iso8859_13": ("Windows-1257, Baltic", "cp1257"),
    "cp1258": ("Windows-1258, Vietnamese", "cp1258"), "cp874": ("Windows-874, Thai", "cp874"),
    "tis_620": ("Windows-874, Thai", "cp874"),
    "mac_roman": ("Mac Roman", "mac_roman"), "cp437": ("DOS (code page 437)", "cp437"),
    "cp850": ("DOS Latin (code page 850)", "cp850"),
    "utf_16": ("UTF-16", "utf-16"), "utf_16_le": ("UTF-16", "utf-16-le"), "utf_16_be": ("UTF-16", "utf-16-be"),
}

MAX_CHAOS = 0.1  # the detector's "mess" above which its guess is not named


def _detect(data: bytes) -> tuple[str, str, str] | None:
    """The detector's confident guess: (codec, what people call it, --encoding), or None."""
    from charset_normalizer import from_bytes

    try:
        results = from_bytes(data[:200_000])
    except Exception:  # the detector is advice only; never let it turn a refusal into a crash
        return None
    best = results.best()
    if best is None or best.chaos > MAX_CHAOS:
        return None
    codec = codecs.lookup(best.encoding).name.replace("-", "_")
    if codec in _LATIN1_FAMILY or codec.replace("_", "-") in _LATIN1_FAMILY:
        return "cp1252", "Windows-1252", "cp1252"
    if codec not in _NAMES:
        return None  # a rare code page (cp1125, hp_roman8) on a small sample is a wild guess: name none
    label, option = _NAMES[codec]
    if option == "shift_jis":
        try:
            data.decode("shift_jis")
        except UnicodeDecodeError:
            option = "cp932"  # Windows' Shift-JIS: NEC and IBM extensions (①, ㈱) plain Shift-JIS lacks
    return codec, label, option


def _unclear(data: bytes, guess: tuple[str, str, str] | None) -> str:
    if guess is not None and guess[0] != "cp1252":
        return (f"the character set is not clear (it looks like {guess[1]}); give it with --encoding "
                f"{guess[2]} (or re-save the file as UTF-8)")
    return ("the character set is not clear (neither UTF-8 nor names in Windows-1252); give it with "
            "--encoding, e.g. --encoding shift_jis, cp1253 (Greek) or cp1250 (or re-save the file as UTF-8)")


def _undo_table() -> dict[int, str]:
    """Character -> the byte (as a latin-1 character) a Windows-1252 decoder made it from: the 27
    printable 0x80-0x9F characters (€ -> 0x80), and the five bytes Windows-1252 leaves undefined, which
    decoders turn into U+0081... (Python, latin-1) or U+F181... (LibreOffice)."""
    table: dict[int, str] = {}
    for b in range(0x80, 0xA0):
        try:
            table[ord(bytes([b]).decode("cp1252"))] = chr(b)
        except UnicodeDecodeError:
            table[0xF100 + b] = chr(b)
    return table


_UNDO = _undo_table()


MIN_MOJIBAKE = 3


def undo_double_encoding(text: str) -> str:
    """``text`` with UTF-8 that was read as Windows-1252 and saved again ("NÃºÃ±ez", a leading "ï»¿")
    turned back into what it said ("Núñez"); any other text unchanged.

    LibreOffice opens a CSV as Windows-1252 unless told otherwise (headless ``--convert-to`` always
    does), then saves UTF-8: every accented name comes back as mojibake, and the BOM as "ï»¿" glued to
    the first header. The test is strict and whole-file: every character must map back to one byte and
    those bytes must be valid UTF-8 with multi-byte sequences, which real Windows-1252 text ("Núñez" ->
    N 0xFA 0xF1 ez) practically never is."""
    if text.isascii():
        return text
    try:
        raw = text.encode("cp1252")  # C speed; fails fast on text that was never mis-decoded
    except UnicodeEncodeError as exc:
        if ord(text[exc.start]) not in _UNDO:
            return text  # "Łukasz", "王": real text
        try:
            raw = text.translate(_UNDO).encode("latin-1")
        except UnicodeEncodeError:
            return text
    try:
        fixed = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return text
    # A short run such as "Â\xa0" is also valid as itself: undo only with the mangled BOM LibreOffice
    # leaves ("ï»¿"), or with several mojibake characters, which real text does not chain by chance.
    if text.startswith("ï»¿") or sum(not c.isascii() for c in fixed) >= MIN_MOJIBAKE:
        return fixed
    return text


def to_cp1252(value: str) -> str:
    """``value`` with every character Windows-1252 cannot hold transliterated (anyascii); an accent it
    can hold stays, also when it came decomposed (``Zoe`` + U+0308 is written ``Zoë``, not ``Zoe``)."""
    from anyascii import anyascii

    value = unicodedata.normalize("NFC", value)
    out = []
    for ch in value:
        try:
            ch.encode("cp1252")
            out.append(ch)
        except UnicodeEncodeError:
            ascii_ = anyascii(ch)
            # anyascii spells emoji as ":person_running:"; in a name field that is noise, so drop them.
            out.append("" if len(ascii_) > 2 and ascii_[0] == ascii_[-1] == ":" else ascii_)
    text = "".join(out)
    return text.strip() if text != value and value == value.strip() else text
