"""Shadows: how far an object's shadow reaches, in which direction a scene's shadows fall.

A standing object casts a shadow away from the sun; its depth along the object's outline, in
the direction the scene's objects cast theirs (from the metadata's sun azimuth, or voted by the
objects themselves), tells a raised structure or a tower from a flat patch of ground.
"""

from __future__ import annotations

import logging
import math

import numpy as np
from scipy import ndimage

from campwatch.io.scene import Scene

logger = logging.getLogger(__name__)

__all__ = ["bearing", "cast_shadow", "shadow_depth", "shadow_direction", "sun_shadow_direction"]


def shadow_depth(obj: np.ndarray, dark: np.ndarray, reach: int) -> float:
    """Dark pixels within ``reach`` of an object, per pixel of its outline.

    About the mean width, in pixels, of the shadow the object casts along its outline;
    0 for a flat patch with no shadow.
    """
    if not obj.any():
        return 0.0
    outline = int((obj & ~ndimage.binary_erosion(obj)).sum())
    near = ndimage.binary_dilation(obj, iterations=reach) & ~obj
    return float((dark & near).sum()) / max(1, outline)


def _shifted(mask: np.ndarray, dr: int, dc: int) -> np.ndarray:
    """``mask`` moved by whole pixels (rows ``dr``, cols ``dc``), filled with False."""
    out = np.zeros_like(mask)
    rows, cols = mask.shape
    if abs(dr) >= rows or abs(dc) >= cols:
        return out
    src = mask[max(0, -dr):rows - max(0, dr), max(0, -dc):cols - max(0, dc)]
    out[max(0, dr):max(0, dr) + src.shape[0], max(0, dc):max(0, dc) + src.shape[1]] = src
    return out


def cast_shadow(obj: np.ndarray, dark: np.ndarray, direction: tuple[float, float], reach: int) -> float:
    """Length, in pixels, of the shadow ``obj`` casts along ``direction``.

    From every pixel of the object's edge that faces ``direction`` (a (row, col) unit
    vector), walks away from the object and counts the dark pixels met before the first
    lit one; returns the upper quartile (the corners of a rounded footprint see little). A patch of ground with dark pixels beside it in another
    direction casts none.
    """
    rows, cols = obj.shape
    step = (int(round(direction[0])), int(round(direction[1])))
    ahead = _shifted(obj, -step[0], -step[1]) if step != (0, 0) else obj
    edge_r, edge_c = np.nonzero(obj & ~ahead)
    if edge_r.size == 0:
        return 0.0
    alive = np.ones(edge_r.size, dtype=bool)
    length = np.zeros(edge_r.size, dtype="float32")
    for k in range(1, reach + 1):
        rr = np.rint(edge_r + direction[0] * k).astype(int)
        cc = np.rint(edge_c + direction[1] * k).astype(int)
        inside = (rr >= 0) & (rr < rows) & (cc >= 0) & (cc < cols)
        rr, cc = np.clip(rr, 0, rows - 1), np.clip(cc, 0, cols - 1)
        on_obj = obj[rr, cc]
        is_dark = inside & dark[rr, cc]
        alive &= is_dark | on_obj
        length[alive & ~on_obj] += 1
        if not alive.any():
            break
    return float(np.percentile(length, 75))


def bearing(direction: tuple[float, float]) -> float:
    """The compass bearing, degrees, of a (row, col) direction on a north-up grid."""
    return math.degrees(math.atan2(direction[1], -direction[0])) % 360.0


def sun_shadow_direction(scene: Scene) -> tuple[float, float] | None:
    """The direction, (row, col) unit vector, of shadows on a scene whose metadata gives the sun's azimuth.

    A shadow points away from the sun: toward the azimuth plus 180 degrees. The azimuth is
    taken as the grid's (a projected grid's north departs from true north by its
    convergence, a degree or two: well within what :func:`cast_shadow` tolerates). None when
    the metadata gives no azimuth or the sun is below the horizon.
    """
    acquisition = scene.acquisition
    if acquisition is None or acquisition.sun_azimuth is None:
        return None
    if acquisition.sun_elevation is not None and acquisition.sun_elevation <= 0:
        return None
    azimuth = math.radians(acquisition.sun_azimuth)
    east, north = -math.sin(azimuth), -math.cos(azimuth)
    col, row = east / scene.transform.a, north / scene.transform.e
    length = math.hypot(row, col)
    return (row / length, col / length)


def shadow_direction(
    objects: list[tuple[np.ndarray, np.ndarray]], *, reach: int, min_objects: int = 3
) -> tuple[float, float] | None:
    """The direction, (row, col) unit vector, in which the objects of a scene cast shadows.

    A box's shadow is its footprint swept away from the sun, so the centroid of the shadow
    lies from the centroid of the footprint exactly in the shadow's direction, whatever the
    footprint's shape. Each object votes with that vector, using the dark pixels connected
    to it within ``2 * reach``, weighted by their number. None when fewer than
    ``min_objects`` have a shadow or their directions disagree (resultant length under 0.5).

    Parameters
    ----------
    objects : list of (obj, dark)
        Object mask and dark mask, cropped alike (crops should reach ``2 * reach`` beyond
        the object).
    """
    vectors, weights = [], []
    for obj, dark in objects:
        near = ndimage.binary_dilation(obj, iterations=2 * reach) & dark & ~obj
        touching = ndimage.binary_dilation(obj, iterations=1) & near
        if touching.sum() < 2:
            continue
        comp, _ = ndimage.label(near)
        ids = np.unique(comp[touching])
        attached = np.isin(comp, ids[ids > 0])
        n = int(attached.sum())
        if n < 4:
            continue
        ro, co = np.nonzero(obj)
        rd, cd = np.nonzero(attached)
        v = np.array([rd.mean() - ro.mean(), cd.mean() - co.mean()])
        norm = float(np.hypot(*v))
        if norm == 0:
            continue
        vectors.append(v / norm)
        weights.append(n)
    if len(vectors) < min_objects:
        return None
    w = np.asarray(weights, dtype="float64")
    mean = (np.asarray(vectors) * w[:, None]).sum(axis=0) / w.sum()
    length = float(np.hypot(*mean))
    if length < 0.5:
        return None
    return (float(mean[0] / length), float(mean[1] / length))
