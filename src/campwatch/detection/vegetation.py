"""Vegetation on each date, and the pixels that are vegetation on both (a season, not a change of land cover)."""

from __future__ import annotations

import numpy as np

from campwatch.config import VegetationOptions
from campwatch.detection.change import ndvi
from campwatch.io.scene import Scene

__all__ = ["greenness", "vegetation", "stable_vegetation"]


def greenness(scene: Scene) -> tuple[np.ndarray, str] | None:
    """A vegetation index of ``scene`` and its name, or None when its bands allow none.

    NDVI, ``(nir - red) / (nir + red)``, when the scene has red and near-infrared bands;
    otherwise the excess-green index of its chromatic coordinates, ``2g - r - b`` with
    ``r = red / (red + green + blue)`` and so on (Woebbecke et al., 1995), when it has red,
    green and blue bands.

    Returns
    -------
    ((M, N) ndarray of float32, {"ndvi", "exg"}) or None
        Invalid pixels and pixels with no light hold 0.
    """
    found = ndvi(scene)
    if found is not None:
        return np.where(scene.valid, found, 0.0).astype("float32"), "ndvi"
    red, green, blue = scene.band("red"), scene.band("green"), scene.band("blue")
    if red is None or green is None or blue is None:
        return None
    total = red + green + blue
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where((total > 0) & scene.valid, (2 * green - red - blue) / total, 0.0)
    return out.astype("float32"), "exg"


def vegetation(scene: Scene, *, config: VegetationOptions) -> np.ndarray | None:
    """Pixels of ``scene`` that are vegetation: NDVI of at least ``config.vegetation_ndvi``, or without a
    near-infrared band an excess-green index of at least ``config.vegetation_exg``.

    Returns
    -------
    (M, N) ndarray of bool, or None when the scene's bands give no vegetation index.
    """
    found = greenness(scene)
    if found is None:
        return None
    index, name = found
    return index >= (config.vegetation_ndvi if name == "ndvi" else config.vegetation_exg)


def stable_vegetation(before: Scene, after: Scene, *, config: VegetationOptions) -> np.ndarray | None:
    """Pixels that are vegetation on both dates: what changed there is the season, growth or mowing,
    not the land cover, and is not reported as change.

    Each date is judged in its own radiometry (pass the later scene as co-registered, before
    its radiometry is matched to the earlier one's). A field ploughed, a wood cleared or a
    roof built on grass is vegetation on one date only, and stays change.

    Returns
    -------
    (M, N) ndarray of bool, or None when ``config.ignore_stable_vegetation`` is off or the
    scenes' bands give no vegetation index.
    """
    if not config.ignore_stable_vegetation:
        return None
    veg_before = vegetation(before, config=config)
    veg_after = vegetation(after, config=config)
    if veg_before is None or veg_after is None:
        return None
    return veg_before & veg_after
