"""Band names: what each band of an image is (blue, green, red, nir...), from the file or from the user."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rasterio.enums import ColorInterp

from campwatch.errors import InputError
from campwatch.io.delivery import imd_band_names
from campwatch.io.sources import check_size

__all__ = ["ALPHA", "IGNORED", "NOT_COMPARED", "band_names_of", "parse_band_names"]

_COLOR_NAMES = {
    ColorInterp.blue: "blue",
    ColorInterp.green: "green",
    ColorInterp.red: "red",
    ColorInterp.gray: "pan",
    # GDAL 3.10's colour interpretations of the bands beyond colour.
    ColorInterp.pan: "pan",
    ColorInterp.coastal: "coastal",
    ColorInterp.rededge: "rededge",
    ColorInterp.nir: "nir",
    ColorInterp.alpha: "alpha",
}

#: The name of a band that marks where the image is (its alpha band): a mask, never compared.
ALPHA = "alpha"
#: The name of a band the user said to ignore (``-`` in ``--before-bands``): never compared.
IGNORED = "-"
#: Bands that are read but never compared with the other date's.
NOT_COMPARED = frozenset({ALPHA, IGNORED})
_BAND_ALIASES = {
    "b": "blue", "blue": "blue", "coastal": "coastal",
    "g": "green", "green": "green",
    "r": "red", "red": "red",
    "nir": "nir", "near-infrared": "nir", "near infrared": "nir", "infrared": "nir", "n": "nir",
    "pan": "pan", "panchromatic": "pan", "gray": "pan", "grey": "pan",
    # STAC's common names of the other bands (Sentinel-2, Maxar's 8-band sensors).
    **{n: n for n in ("yellow", "rededge", "rededge071", "rededge075", "rededge078", "nir08", "nir09", "nir2",
                      "swir16", "swir22")},
}


def band_names_of(ds: Any) -> tuple[str | None, ...]:
    """The colour name of each band of an open dataset (from descriptions or colour interpretation), or None.

    Raises
    ------
    SceneError
        When the dataset has more than :data:`MAX_BANDS` bands (read before any band is).
    """
    check_size(ds.name, ds.count, ds.width, ds.height)
    names: list[str | None] = []
    # Each access of these builds the whole tuple: once, not once a band.
    descriptions, interps = ds.descriptions, ds.colorinterp
    for i in range(ds.count):
        desc = (descriptions[i] or "").strip().lower()
        name = _BAND_ALIASES.get(desc)
        if name is None:
            name = _COLOR_NAMES.get(interps[i])
            if interps[i] == ColorInterp.gray and ds.count > 1:
                name = None  # GDAL calls the first band of any plain multi-band file gray
        names.append(name)
    named = [n for n in names if n and n != ALPHA]
    if len(set(named)) != len(named):
        return tuple(ALPHA if n == ALPHA else None for n in names)  # duplicated names: trust none
    if not any(n and n != ALPHA for n in names):
        return imd_band_names(ds) or tuple(names)  # a Maxar image names its bands in its .IMD
    return tuple(names)


def parse_band_names(text: str | Sequence[str], *, source: str = "--bands") -> tuple[str | None, ...]:
    """Band names the user gives, in file band order: ``"blue,green,red,nir"``.

    Each is a name or alias campwatch knows (blue, green, red, nir, pan, coastal, and the
    aliases b, g, r, n, near-infrared, panchromatic, gray), or ``-`` for a band to ignore.

    Raises
    ------
    InputError
        Naming the value that is not a band name, or a name given twice.
    """
    items = [t.strip().lower() for t in (text.split(",") if isinstance(text, str) else text)]
    names: list[str | None] = []
    for item in items:
        if item in ("-", "", "skip"):
            names.append(None)
            continue
        name = _BAND_ALIASES.get(item)
        if name is None:
            raise InputError(f"{source}: {item!r} is not a band name; use blue, green, red, nir, pan, coastal "
                             "or - (ignore), in the file's band order")
        names.append(name)
    given = [n for n in names if n]
    if len(set(given)) != len(given):
        raise InputError(f"{source}: a band name is given twice ({', '.join(items)})")
    return tuple(names)
