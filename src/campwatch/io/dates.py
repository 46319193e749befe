"""The acquisition date of an image: from its file name (``YYYY-MM-DD`` and looser forms) or its date tags."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from campwatch.errors import SceneError

__all__ = ["FIRST_YEAR", "name_date", "parse_date"]

#: A full ISO date in a name (``2016-05-14``), found wherever it starts (lookahead: overlapping).
_ISO_DATE = re.compile(r"(?=(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d))")
#: A looser date (``20160514``, ``2016_05_14``), taken only when the name holds no ISO date.
_LOOSE_DATE = re.compile(r"(?=(?<!\d)(\d{4})[-_]?(\d{2})[-_]?(\d{2})(?!\d))")
#: The years an image may be from: the first reconnaissance satellites, to next year.
FIRST_YEAR = 1960


def _plausible(year: int, month: int, day: int) -> dt.date | None:
    if not FIRST_YEAR <= year <= dt.date.today().year + 1:
        return None
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _dates_in(name: str, pattern: re.Pattern[str]) -> list[dt.date]:
    found = (_plausible(int(m[1]), int(m[2]), int(m[3])) for m in pattern.finditer(name))
    return sorted({d for d in found if d is not None})


def name_date(path: str | Path) -> dt.date | None:
    """The date a file name holds (as :func:`parse_date` reads it), or None when it holds none.

    Raises
    ------
    SceneError
        If the name holds two different dates.
    """
    name = Path(path).name
    for pattern in (_ISO_DATE, _LOOSE_DATE):
        dates = _dates_in(name, pattern)
        if len(dates) > 1:
            raise SceneError(f"{path}: the name holds {len(dates)} dates ({', '.join(d.isoformat() for d in dates)}); "
                             "keep only the acquisition date in it, as YYYY-MM-DD")
        if dates:
            return dates[0]
    return None


def parse_date(path: str | Path, tags: dict[str, str] | None = None) -> dt.date:
    """Return the acquisition date from a file name (``YYYY-MM-DD``) or its TIFF date tag.

    The file name wins: it is what analysts see and sort by. In a name, a full ISO date
    (``2016-05-14``) wins over looser forms (``20160514``); a date must be a real day of a
    year from :data:`FIRST_YEAR` to next year (``camp_0256_0512_2012-01-01`` is of 2012, not
    of the year 256).

    Raises
    ------
    SceneError
        If neither the name nor the tags give a valid date, or the name gives two
        different dates (naming both).
    """
    named = name_date(path)
    if named is not None:
        return named
    for key in ("TIFFTAG_DATETIME", "ACQUISITION_DATE", "DATE_ACQUIRED"):
        value = (tags or {}).get(key)
        if value:
            tag_match = re.match(r"\s*(\d{4})[:\-/](\d{2})[:\-/](\d{2})", value)
            date = _plausible(int(tag_match[1]), int(tag_match[2]), int(tag_match[3])) if tag_match else None
            if date is not None:
                return date
            raise SceneError(
                f"{path}: the date tag {key}={value[:40]!r} is not a valid date from {FIRST_YEAR} on; "
                "expected 'YYYY:MM:DD HH:MM:SS' or a file name with YYYY-MM-DD"
            )
    raise SceneError(
        f"{path}: cannot tell the acquisition date; put it in the file name as YYYY-MM-DD "
        "(for example 2016-05-14_camp25.tif) or in the TIFFTAG_DATETIME tag"
    )
