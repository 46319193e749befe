"""Find structure-like objects in one scene: lit, not green, standing out from the ground, casting a shadow."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from scipy import ndimage
from skimage.measure import label, regionprops
from skimage.morphology import disk, opening, remove_small_holes

from campwatch.change import ndvi, robust_sigma
from campwatch.config import DetectConfig
from campwatch.scene import Scene

__all__ = ["StructureObject", "StructureMap", "find_structures", "ground_background", "median_background",
           "rectangularity",
           "shadow_depth", "brightness"]


@dataclass(frozen=True)
class StructureObject:
    """One structure-like object found in a scene (pixel measures on the scene's grid)."""

    id: int
    bbox: tuple[int, int, int, int]
    area_m2: float
    width_m: float
    rectangularity: float
    shadow_px: float
    contrast: float


@dataclass(frozen=True)
class StructureMap:
    """Structure-like objects of one scene.

    Attributes
    ----------
    labels : (M, N) ndarray of int32
        0 for no object, else the object's id.
    objects : dict
        Id to :class:`StructureObject`, only objects that pass every test.
    direction : tuple of float or None
        The (row, col) unit vector in which the scene's objects cast shadows, if known.
    dark : (M, N) ndarray of bool
        Pixels dark enough to be shadow: darker than ``shadow_brightness`` times the
        brightness of the ground around them.
    anomaly : (M, N) ndarray of float32
        How far each pixel stands out from the ground around it (noise-sigma units).
    """

    labels: np.ndarray
    objects: dict[int, StructureObject]
    direction: tuple[float, float] | None
    dark: np.ndarray
    anomaly: np.ndarray


def brightness(scene: Scene) -> np.ndarray:
    """Mean over bands: (M, N) float32."""
    return scene.data.mean(axis=0)


def median_background(
    data: np.ndarray, valid: np.ndarray, pixel_size: float, *, scale_m: float = 60.0, cell_m: float = 4.0
) -> np.ndarray:
    """Smooth ``data`` by a median over ``scale_m``, per band: what varies slowly in it.

    Computed on a grid of ``cell_m`` cells (block means), median-filtered, and brought back
    to the pixel grid by bilinear interpolation. Objects smaller than about half of
    ``scale_m`` do not pull it. Invalid pixels are filled with the band's median first.

    Parameters
    ----------
    data : (B, M, N) ndarray
    valid : (M, N) ndarray of bool
    pixel_size : float
        In metres.

    Returns
    -------
    (B, M, N) ndarray of float32
    """
    f = max(1, int(round(cell_m / pixel_size)))
    size = max(3, int(round(scale_m / (f * pixel_size))) | 1)
    rows, cols = valid.shape
    pr, pc = (-rows) % f, (-cols) % f
    out = np.empty(data.shape, dtype="float32")
    for b in range(data.shape[0]):
        band = data[b]
        fill = float(np.median(band[valid])) if valid.any() else 0.0
        band = np.where(valid, band, fill)
        padded = np.pad(band, ((0, pr), (0, pc)), mode="edge")
        coarse = padded.reshape(padded.shape[0] // f, f, padded.shape[1] // f, f).mean(axis=(1, 3))
        coarse = ndimage.median_filter(coarse, size=size, mode="nearest")
        zoomed = ndimage.zoom(coarse, f, order=1, mode="nearest", grid_mode=True)
        out[b] = zoomed[:rows, :cols]
    return out


def ground_background(scene: Scene, *, scale_m: float = 60.0, cell_m: float = 4.0) -> np.ndarray:
    """Estimate the ground each pixel stands on (see :func:`median_background`): (B, M, N) float32."""
    return median_background(scene.data, scene.valid, float(np.sqrt(scene.pixel_area)),
                             scale_m=scale_m, cell_m=cell_m)


def rectangularity(mask: np.ndarray) -> float:
    """Area of a pixel mask over the area of its minimum rotated rectangle (pixel edges)."""
    rows, cols = np.nonzero(mask)
    if rows.size < 3:
        return 0.0
    pts = shapely.MultiPoint(np.column_stack([cols, rows]).astype("float64"))
    rect = pts.minimum_rotated_rectangle
    if rect.geom_type != "Polygon":
        return 1.0 if rect.geom_type == "LineString" else 0.0
    x, y = rect.exterior.xy
    a = float(np.hypot(x[1] - x[0], y[1] - y[0])) + 1.0
    b = float(np.hypot(x[2] - x[1], y[2] - y[1])) + 1.0
    return float(min(1.0, rows.size / (a * b)))


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


def _anomaly(resid: np.ndarray, valid: np.ndarray, *, sample: int = 200_000) -> np.ndarray:
    """Mahalanobis distance of each pixel's residual from the ground, per band: (M, N) float32.

    The covariance is estimated robustly from the residuals of valid pixels (a sample,
    the most extreme 20% left out), so that variation the ground shows in every band
    together (its texture) weighs less than a change of colour.
    """
    nb = resid.shape[0]
    flat = resid[:, valid]
    if flat.shape[1] < nb * 10:
        return np.zeros(valid.shape, dtype="float32")
    step = max(1, flat.shape[1] // sample)
    x = flat[:, ::step].astype("float64")
    scale = np.array([max(robust_sigma(x[b]), 1e-6) for b in range(nb)])
    norm = np.sqrt(np.mean((x / scale[:, None]) ** 2, axis=0))
    x = x[:, norm <= np.quantile(norm, 0.8)]
    cov = np.cov(x) if nb > 1 else np.array([[x.var()]])
    cov = np.atleast_2d(cov) + np.eye(nb) * 1e-6 * float(np.trace(np.atleast_2d(cov)))
    # The trimmed sample underestimates spread: rescale so a band's sigma matches its MAD.
    inv = np.linalg.inv(cov * (scale**2 / np.maximum(np.diag(cov), 1e-12)).mean())
    out = np.zeros(valid.shape, dtype="float32")
    for i in range(nb):
        for j in range(nb):
            out += (inv[i, j] * resid[i] * resid[j]).astype("float32")
    return np.sqrt(np.maximum(out, 0) / nb).astype("float32")


def _sweep(obj: np.ndarray, direction: tuple[float, float], steps: int) -> list[np.ndarray]:
    """``obj`` shifted 1..``steps`` pixels along ``direction`` (row, col unit vector), each less ``obj``."""
    out = []
    for k in range(1, steps + 1):
        shifted = ndimage.shift(obj.astype("uint8"), (direction[0] * k, direction[1] * k), order=0, cval=0) > 0
        out.append(shifted & ~obj)
    return out


def cast_shadow(obj: np.ndarray, dark: np.ndarray, direction: tuple[float, float], reach: int) -> float:
    """Length, in pixels, of the shadow ``obj`` casts along ``direction``.

    Walks away from the object along the scene's shadow direction and counts how far the
    pixels next to it stay dark (mean over the object's shadow-side edge). A patch of
    ground with dark pixels beside it in another direction casts none.
    """
    sweeps = _sweep(obj, direction, reach)
    edge = sweeps[0]
    n = int(edge.sum())
    if n == 0:
        return 0.0
    still = edge & dark
    length = np.zeros(obj.shape, dtype="float32")
    length[still] = 1.0
    total = float(still.sum())
    for k in range(1, reach):
        # Pixels k further along whose predecessor was dark and which are dark too.
        prev = ndimage.shift(still.astype("uint8"), (direction[0], direction[1]), order=0, cval=0) > 0
        still = prev & dark & sweeps[k]
        total += float(still.sum())
        if not still.any():
            break
    return total / n


def shadow_direction(
    objects: list[tuple[np.ndarray, np.ndarray]], *, reach: int, min_objects: int = 3, max_refine: int = 40
) -> tuple[float, float] | None:
    """The direction, (row, col) unit vector, in which the objects of a scene cast shadows.

    Each object votes with the vector from its centroid to the centroid of the dark
    pixels around it, weighted by their number; the angle is then refined, within 30
    degrees in 5-degree steps, to the one along which the ``max_refine`` most shadowed
    objects cast the longest shadows in all. None when fewer than ``min_objects`` have
    shadows or their directions disagree (resultant length under 0.5).

    Parameters
    ----------
    objects : list of (obj, dark)
        Object mask and dark mask, cropped alike.
    """
    vectors = []
    weights = []
    for obj, dark in objects:
        near = ndimage.binary_dilation(obj, iterations=reach) & ~obj & dark
        n = int(near.sum())
        if n < 4:
            continue
        ro, co = np.nonzero(obj)
        rd, cd = np.nonzero(near)
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
    # Centroids are pulled sideways by long shapes: refine by the angle along which the
    # objects (the most shadowed ones) cast the longest shadows in all.
    guess = math.atan2(mean[0], mean[1])
    best = [(n, obj, dark) for n, (obj, dark) in sorted(
        zip(weights, [o for o in objects if (ndimage.binary_dilation(o[0], iterations=reach) & ~o[0] & o[1]).sum() >= 4]),
        key=lambda t: -t[0])][:max_refine]
    scores = []
    for step in range(-6, 7):
        angle = guess + math.radians(5 * step)
        d = (math.sin(angle), math.cos(angle))
        scores.append((sum(cast_shadow(obj, dark, d, reach) for _, obj, dark in best), angle))
    angle = max(scores)[1]
    return (math.sin(angle), math.cos(angle))


def find_structures(
    scene: Scene,
    *,
    config: DetectConfig,
    valid: np.ndarray | None = None,
    veiled: np.ndarray | None = None,
) -> StructureMap:
    """Find the structure-like objects of a scene.

    A pixel belongs to a candidate when it stands out from the ground around it by more
    than ``config.structure_anomaly`` noise sigmas, is lit (not shadow) and not green.
    A candidate is a structure when it has a building's size, width and rectangular shape
    and casts a shadow of at least ``config.min_shadow_px`` pixels in the direction in
    which the scene's objects cast theirs (:func:`shadow_direction`; any direction when
    the scene does not tell).

    Parameters
    ----------
    scene : Scene
    config : DetectConfig
    valid : (M, N) ndarray of bool, optional
        Pixels where objects may lie; default ``scene.valid``. Shadows are looked for
        wherever the scene has data.
    veiled : (M, N) ndarray of bool, optional
        Pixels under a thin cloud or cloud shadow on this date. A veil of light fills
        shadows in, so under one a shadow need only be darker than halfway between
        ``shadow_brightness`` and the ground.

    Notes
    -----
    Memory: about 3 float32 arrays per band of the scene.
    """
    if valid is None:
        valid = scene.valid
    px = float(np.sqrt(scene.pixel_area))
    bright = brightness(scene)
    background = ground_background(scene)
    # Shadow is dark against the ground around it (under a thin veil too); shadows count
    # wherever the scene has data: an object at the edge of a masked area still casts one.
    ground_level = background.mean(axis=0)
    dark = (bright < config.shadow_brightness * ground_level) & scene.valid
    # A veil of light fills shadows in: under one, a shadow is only somewhat darker.
    dimmed = (bright < (1.0 + config.shadow_brightness) / 2.0 * ground_level) & scene.valid
    anomaly = _anomaly(scene.data - background, valid)
    green = ndvi(scene)
    cand = (anomaly > config.structure_anomaly) & ~dark & valid
    if green is not None:
        cand &= green <= config.max_structure_ndvi
    radius = int(round(config.opening_radius_m / px))
    if radius > 0:
        cand = opening(cand, disk(radius))
    cand = remove_small_holes(cand, max_size=max(1, int(config.min_structure_area_m2 / scene.pixel_area)))
    labels = label(cand, connectivity=1).astype("int32")
    reach = max(1, int(round(config.shadow_reach_m / px)))
    objects: dict[int, StructureObject] = {}
    rows, cols = labels.shape
    keep = np.zeros(int(labels.max()) + 1, dtype=bool)
    shaped: list[tuple[Any, tuple[int, int, int, int], np.ndarray, float, float]] = []
    for prop in regionprops(labels, intensity_image=anomaly):
        area = prop.area * scene.pixel_area
        if not config.min_structure_area_m2 <= area <= config.max_structure_area_m2:
            continue
        r0, c0, r1, c1 = prop.bbox
        r0, c0 = max(0, r0 - reach - 1), max(0, c0 - reach - 1)
        r1, c1 = min(rows, r1 + reach + 1), min(cols, c1 + reach + 1)
        obj = labels[r0:r1, c0:c1] == prop.label
        width = 2.0 * float(ndimage.distance_transform_edt(np.pad(obj, 1)).max()) * px
        if width < config.min_structure_width_m:
            continue
        rect = rectangularity(obj)
        if rect < config.min_rectangularity:
            continue
        shaped.append((prop, (r0, c0, r1, c1), obj, width, rect))

    direction = shadow_direction([(obj, dark[r0:r1, c0:c1]) for _, (r0, c0, r1, c1), obj, _, _ in shaped],
                                 reach=reach)
    for prop, (r0, c0, r1, c1), obj, width, rect in shaped:
        under_veil = veiled is not None and float(veiled[r0:r1, c0:c1][obj].mean()) >= 0.5
        shade = (dimmed if under_veil else dark)[r0:r1, c0:c1]
        if direction is None:
            shadow = shadow_depth(obj, shade, reach)
        else:
            shadow = cast_shadow(obj, shade, direction, reach)
        if shadow < config.min_shadow_px:
            continue
        keep[prop.label] = True
        objects[prop.label] = StructureObject(
            id=prop.label, bbox=prop.bbox, area_m2=prop.area * scene.pixel_area, width_m=width,
            rectangularity=rect, shadow_px=shadow, contrast=float(prop.intensity_mean),
        )
    labels = np.where(keep[labels], labels, 0).astype("int32")
    return StructureMap(labels=labels, objects=objects, direction=direction, dark=dark, anomaly=anomaly)
