"""Text from inputs, made safe to show: no control characters, no direction overrides.

Names, credits, tags and file names come from people who may want campwatch to be wrong; a
newline in an AOI name must not forge a line of a log, and a right-to-left override must not
turn a file name around on a terminal. Such characters are shown as escapes (``\\n``,
``\\u202e``); everything else is kept as it is.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["printable", "SAFE_NAME", "is_safe_name"]

#: A name campwatch makes a file or folder from (an AOI's key): letters, digits, ``.``, ``_``
#: and ``-``, at most 100, not starting with a dot (so never ``.`` or ``..``).
SAFE_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}")


def is_safe_name(name: str) -> bool:
    """Whether ``name`` can name a file or folder inside another without leaving it."""
    return SAFE_NAME.fullmatch(name) is not None


def printable(text: object) -> str:
    """``text`` with every control or format character (newlines, escapes, direction
    overrides) written as an escape, so that it shows as one line of what it is."""
    s = str(text)
    if s.isprintable():
        return s
    return "".join(c if c.isprintable() or c == " " else _escape(c) for c in s)


def _escape(c: str) -> str:
    simple = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
    if c in simple:
        return simple[c]
    code = ord(c)
    if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp") or code < 0x20:
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"
    return c
