"""Keep tmp_key, tmp_secret and passwords out of every line we print, log or save."""

from __future__ import annotations

import re

_PATTERNS = [
    re.compile(r"((?:tmp_key|tmp_secret|password)=)[^&\s'\"]+", re.I),
    re.compile(r"""(["']?(?:tmp_key|tmp_secret|password)["']?\s*[:=]\s*["'])[^"']+""", re.I),
]
_known: set[str] = set()


def remember_secret(value: str | None) -> None:
    """Register a secret value so it is masked wherever it appears, even outside key=value form."""
    if value and len(value) >= 4:
        _known.add(value)


def redact(text: str) -> str:
    """``text`` with every key, secret and password (known or in a URL) replaced by ``***``."""
    for pattern in _PATTERNS:
        text = pattern.sub(r"\1***", text)
    for secret in _known:
        if secret in text:
            text = text.replace(secret, "***")
    return text
