"""Find structure-like objects in one scene: lit, not green, standing out from the ground, casting a shadow."""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import shapely
from scipy import ndimage
from skimage.measure import label, regionprops
from skimage.morphology import remove_small_holes

from campwatch.config import DetectConfig
from campwatch.detection.change import median_background, ndvi, robust_sigma, upsample_bilinear
from campwatch.detection.segment import open_mask
from campwatch.detection.shadows import bearing, cast_shadow, shadow_depth, shadow_direction, sun_shadow_direction
from campwatch.io.scene import Scene

logger = logging.getLogger(__name__)

__all__ = ["StructureObject", "StructureMap", "find_structures", "move_pixels", "moved_map", "with_towers_of", "sun_shadow_direction", "ground_background", "median_background",
           "upsample_bilinear", "rectangularity", "shadow_depth", "brightness", "near_change_margin_m",
           "GROUND_SCALE_M"]


#: What a structure-like object is: building-sized, or a small one with a long shadow.
ObjectKind = Literal["structure", "tower"]


@dataclass(frozen=True)
class StructureObject:
    """One structure-like object found in a scene (pixel measures on the scene's grid)."""

    id: int
    bbox: tuple[int, int, int, int]
    kind: ObjectKind
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


def move_pixels(array: np.ndarray, offset: tuple[int, int], fill: Any = 0) -> np.ndarray:
    """``array`` moved by whole pixels: ``out[r, c] = array[r - dr, c - dc]``, ``fill`` where nothing moves in.

    Examples
    --------
    >>> move_pixels(np.arange(4).reshape(2, 2), (0, 1), fill=-1).tolist()
    [[-1, 0], [-1, 2]]
    """
    dr, dc = offset
    out = np.full_like(array, fill)
    rows, cols = array.shape[-2:]
    if abs(dr) >= rows or abs(dc) >= cols:
        return out
    src = (slice(max(0, -dr), rows - max(0, dr)), slice(max(0, -dc), cols - max(0, dc)))
    dst = (slice(max(0, dr), rows - max(0, -dr)), slice(max(0, dc), cols - max(0, -dc)))
    out[(...,) + dst] = array[(...,) + src]
    return out


def moved_map(smap: StructureMap, offset: tuple[int, int]) -> StructureMap:
    """A structure map moved by whole pixels (as :func:`move_pixels`); objects moved off the grid are dropped.

    The objects of a scene are found on its own pixels and then moved onto the other
    date's grid, so that each date's objects are the same whichever date is the earlier
    (resampling blurs roofs and shadows: found on a resampled image, they differ).
    """
    if offset == (0, 0):
        return smap
    dr, dc = offset
    labels = move_pixels(smap.labels, offset)
    rows, cols = labels.shape
    present = set(np.unique(labels).tolist())
    objects = {}
    for oid, obj in smap.objects.items():
        r0, c0, r1, c1 = obj.bbox
        box = (max(0, r0 + dr), max(0, c0 + dc), min(rows, r1 + dr), min(cols, c1 + dc))
        if oid in present and box[0] < box[2] and box[1] < box[3]:
            objects[oid] = dataclasses.replace(obj, bbox=box)
    return StructureMap(labels=labels, objects=objects, direction=smap.direction,
                        dark=move_pixels(smap.dark, offset, False), anomaly=move_pixels(smap.anomaly, offset, 0.0))


def with_towers_of(smap: StructureMap, sharp: StructureMap) -> StructureMap:
    """``smap``'s structures with ``sharp``'s towers (the same scene's objects found on its sharper pixels).

    A tower is a few pixels: the slight blur that makes both dates alike (a resampling's)
    can take it below the tests, where a building of hundreds of pixels keeps its shape.
    A tower of ``sharp`` is kept where no structure of ``smap`` lies.
    """
    keep = {oid: o for oid, o in smap.objects.items() if o.kind == "structure"}
    labels = np.where(np.isin(smap.labels, list(keep)), smap.labels, 0).astype("int32")
    base = int(max(list(smap.objects) + list(sharp.objects) + [0])) + 1
    for oid, obj in sharp.objects.items():
        if obj.kind != "tower":
            continue
        r0, c0, r1, c1 = obj.bbox
        here = sharp.labels[r0:r1, c0:c1] == oid
        if (labels[r0:r1, c0:c1][here] > 0).any():
            continue
        new_id = base + oid
        labels[r0:r1, c0:c1][here] = new_id
        keep[new_id] = dataclasses.replace(obj, id=new_id)
    return StructureMap(labels=labels, objects=keep, direction=smap.direction, dark=smap.dark, anomaly=smap.anomaly)


def brightness(scene: Scene) -> np.ndarray:
    """Mean over bands: (M, N) float32."""
    return scene.data.mean(axis=0)


#: The ground a structure stands out from is measured over this many metres (:func:`ground_background`).
GROUND_SCALE_M = 60.0


def ground_background(scene: Scene, *, scale_m: float = GROUND_SCALE_M, cell_m: float = 4.0) -> np.ndarray:
    """Estimate the ground each pixel stands on (see :func:`median_background`): (B, M, N) float32."""
    return median_background(scene.data, scene.valid, float(np.sqrt(scene.pixel_area)),
                             scale_m=scale_m, cell_m=cell_m)


def rectangularity(mask: np.ndarray) -> float:
    """Area of a pixel mask over the area of its minimum rotated rectangle (pixel edges)."""
    n = int(np.count_nonzero(mask))
    if n < 3:
        return 0.0
    # The hull, and so the rectangle, of a mask's pixels is that of its outline's pixels.
    rows, cols = np.nonzero(mask & ~ndimage.binary_erosion(mask))
    pts = shapely.MultiPoint(np.column_stack([cols, rows]).astype("float64"))
    rect = pts.minimum_rotated_rectangle
    if rect.geom_type != "Polygon":
        return 1.0 if rect.geom_type == "LineString" else 0.0
    x, y = rect.exterior.xy
    a = float(np.hypot(x[1] - x[0], y[1] - y[0])) + 1.0
    b = float(np.hypot(x[2] - x[1], y[2] - y[1])) + 1.0
    return float(min(1.0, n / (a * b)))


def _anomaly(resid: np.ndarray, valid: np.ndarray, *, sample: int = 200_000) -> np.ndarray:
    """Mahalanobis distance of each pixel's residual from the ground, per band: (M, N) float32.

    The covariance is estimated robustly from the residuals of valid pixels (a sample,
    the most extreme 20% left out), so that variation the ground shows in every band
    together (its texture) weighs less than a change of colour.
    """
    nb = resid.shape[0]
    where = np.flatnonzero(valid)
    if where.size < nb * 10:
        return np.zeros(valid.shape, dtype="float32")
    step = max(1, where.size // sample)
    x = resid.reshape(nb, -1)[:, where[::step]].astype("float64")
    scale = np.array([max(robust_sigma(x[b]), 1e-6) for b in range(nb)])
    norm = np.sqrt(np.mean((x / scale[:, None]) ** 2, axis=0))
    x = x[:, norm <= np.quantile(norm, 0.8)]
    cov = np.cov(x) if nb > 1 else np.array([[x.var()]])
    cov = np.atleast_2d(cov)
    trace = float(np.trace(cov))
    if not np.isfinite(trace) or trace <= 0:
        return np.zeros(valid.shape, dtype="float32")  # flat ground: nothing stands out
    cov = cov + np.eye(nb) * 1e-6 * trace
    # The trimmed sample underestimates spread: rescale so a band's sigma matches its MAD.
    inv = np.linalg.pinv(cov * (scale**2 / np.maximum(np.diag(cov), 1e-12)).mean())
    # The quadratic form r' inv r, pixel by pixel: sum over i of r_i (sum over j >= i of
    # c_ij r_j), with c_ii = inv_ii and c_ij = 2 inv_ij (inv is symmetric).
    out = np.zeros(valid.shape, dtype="float32")
    acc = np.empty(valid.shape, dtype="float32")
    for i in range(nb):
        np.multiply(resid[i], np.float32(inv[i, i]), out=acc, dtype="float32", casting="unsafe")
        for j in range(i + 1, nb):
            acc += np.float32(2.0 * inv[i, j]) * resid[j]
        acc *= resid[i]
        out += acc
    np.maximum(out, 0, out=out)
    out /= nb
    return np.sqrt(out)


def _cut(bbox: tuple[int, int, int, int], obj: np.ndarray, valid: np.ndarray, shape: tuple[int, int]) -> bool:
    """Whether an object touches the edge of the valid area or of the grid (so its size is unknown)."""
    r0, c0, r1, c1 = bbox
    if r0 == 0 or c0 == 0 or r1 == shape[0] or c1 == shape[1]:
        return True
    return bool((ndimage.binary_dilation(obj) & ~valid).any())


def near_change_margin_m(config: DetectConfig, pixel_size: float) -> float:
    """How far from change, in metres, objects are looked for (``DetectConfig().structures.objects_near_change``).

    The largest structure's side (``max_structure_area_m2`` as a square) or the longest fence
    line kept (``fence_min_length_m``), whichever is longer, plus the longest shadow looked for
    (``shadow_reach_m``, ``tower_shadow_reach_m``) and the extent of the ground each pixel is
    measured against: an object that reaches changed pixels lies wholly inside the margin, with
    its shadow and its ground. 216 m with the defaults.

    Examples
    --------
    >>> near_change_margin_m(DetectConfig(), 0.5)
    216.4213562373095
    """
    return (max(math.sqrt(config.structures.max_structure_area_m2), config.fences.fence_min_length_m)
            + max(config.structures.shadow_reach_m, config.towers.tower_shadow_reach_m) + _ground_scale_m(config, pixel_size))


def _ground_scale_m(config: DetectConfig, pixel_size: float) -> float:
    """The extent, in metres, of the ground each pixel is measured against: :data:`GROUND_SCALE_M`, or
    :data:`_SHADOWLESS_GROUND_PX` pixels where pixels are too coarse to show shadows."""
    return _SHADOWLESS_GROUND_PX * pixel_size if pixel_size > config.structures.shadowless_pixel_m else GROUND_SCALE_M


#: In pixels too coarse to show shadows (``DetectConfig().structures.shadowless_pixel_m``): the ground is
#: measured over this many pixels (a compound of buildings must not pull it), and a structure
#: covers at least this many.
_SHADOWLESS_GROUND_PX = 50
_SHADOWLESS_MIN_PX = 6
#: ... and at most this many (a compound's buildings merged), of this rectangularity (an H-shaped block).
_SHADOWLESS_MAX_PX = 1000
_SHADOWLESS_MIN_RECTANGULARITY = 0.4
#: ... no longer than this many times its width (a barrack of 15 m x 100 m is 7)...
_SHADOWLESS_MAX_ELONGATION = 8.0
#: ... and its mean contrast is at least this many times ``structure_anomaly`` (no shadow backs it).
_SHADOWLESS_CONTRAST = 1.25


def _object_pixels(scene: Scene, valid: np.ndarray, config: DetectConfig, *, shadowless: bool,
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The candidate objects of a scene, labelled, and the pixel measures they are judged by.

    Returns labels (int32, 0 for none), dark and dimmed (bool: shadow, and shadow under a
    veil) and anomaly (float32), each (M, N).
    """
    px = float(np.sqrt(scene.pixel_area))
    bright = brightness(scene)
    background = ground_background(scene, scale_m=_ground_scale_m(config, px), cell_m=2.0 * px if shadowless else 4.0)
    # Shadow is dark against the ground around it (under a thin veil too); shadows count
    # wherever the scene has data: an object at the edge of a masked area still casts one.
    ground_level = background.mean(axis=0)
    dark = (bright < config.structures.shadow_brightness * ground_level) & scene.valid
    # A veil of light fills shadows in: under one, a shadow is only somewhat darker.
    dimmed = (bright < (1.0 + config.structures.shadow_brightness) / 2.0 * ground_level) & scene.valid
    # The residual from the ground, in the background's own memory (not needed after this).
    anomaly = _anomaly(np.subtract(scene.data, background, out=background), valid)
    del background
    green = ndvi(scene)
    cand = (anomaly > config.structures.structure_anomaly) & valid
    if not shadowless:
        cand &= ~dark  # a dark roof cannot be told from a shadow where shadows show
    if green is not None:
        cand &= green <= config.vegetation.max_structure_ndvi
    radius = int(round(config.segment.opening_radius_m / px))
    if radius > 0:
        cand = open_mask(cand, radius)
    cand = remove_small_holes(cand, max_size=max(1, int(config.towers.min_tower_area_m2 / scene.pixel_area)))
    # In coarse pixels a streak bent across the grid touches itself only at corners: one object, not pieces.
    labels = label(cand, connectivity=2 if shadowless else 1).astype("int32")
    return labels, dark, dimmed, anomaly


def _object_pixels_within(scene: Scene, valid: np.ndarray, config: DetectConfig, windows: list[tuple[slice, slice]],
                          *, shadowless: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_object_pixels` in each of ``windows`` (disjoint rectangles of the grid), 0 and False elsewhere.

    Each window is measured on its own, as a block is (its ground and its noise); a candidate
    that touches a window's edge inside the grid is left out, as one whose size is not known.
    """
    shape = valid.shape
    labels = np.zeros(shape, dtype="int32")
    dark = np.zeros(shape, dtype=bool)
    dimmed = np.zeros(shape, dtype=bool)
    anomaly = np.zeros(shape, dtype="float32")
    next_id = 0
    for rows, cols in windows:
        lab, dk, dm, an = _object_pixels(scene.cut(rows, cols), valid[rows, cols], config, shadowless=shadowless)
        # The window's edges that lie inside the grid (the grid's own edges cut nothing of the scene).
        edges = [edge for edge, inner in ((lab[0], rows.start > 0), (lab[-1], rows.stop < shape[0]),
                                          (lab[:, 0], cols.start > 0), (lab[:, -1], cols.stop < shape[1])) if inner]
        if edges:
            lab[np.isin(lab, np.concatenate(edges))] = 0
        labels[rows, cols] = np.where(lab > 0, lab + next_id, 0)
        next_id += int(lab.max())
        dark[rows, cols], dimmed[rows, cols], anomaly[rows, cols] = dk, dm, an
    return labels, dark, dimmed, anomaly


def find_structures(
    scene: Scene,
    *,
    config: DetectConfig,
    valid: np.ndarray | None = None,
    veiled: np.ndarray | None = None,
    known: np.ndarray | None = None,
    direction: tuple[float, float] | None = None,
    windows: list[tuple[slice, slice]] | None = None,
) -> StructureMap:
    """Find the structure-like objects of a scene.

    A pixel belongs to a candidate when it stands out from the ground around it by more
    than ``config.structures.structure_anomaly`` noise sigmas, is lit (not shadow) and not green.
    A candidate is a structure when it has a building's size, width and rectangular shape
    and casts a shadow of at least ``config.structures.min_shadow_px`` pixels in the direction in
    which the scene's objects cast theirs (:func:`shadow_direction`; any direction when
    the scene does not tell). A smaller one (``min_tower_area_m2`` up to
    ``min_structure_area_m2``) is a tower when it casts, in that direction, a shadow
    longer than ``min_tower_shadow_ratio`` times its width: a small raised object, and
    wholly inside the valid area (a piece that nodata or a cloud cuts off a larger object
    is not one).

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
    known : (M, N) ndarray of bool, optional
        Where the AOI file says towers and structures stand. A candidate there needs no
        shadow: the analyst has already said it is raised.
    direction : (row, col) unit vector, optional
        The direction of shadows when it is known (measured on the whole image, for a
        block of it); default, measured on ``scene``.
    windows : list of pair of slices, optional
        Look for objects only in these disjoint rectangles of the grid (the pixels near
        change, :func:`campwatch.detection.segment.near_windows`), each measured on its own;
        default, the whole scene. The shadows' direction, when measured, is that of the
        objects found in them all.

    Notes
    -----
    Memory: about 3 float32 arrays per band of the scene.
    """
    if valid is None:
        valid = scene.valid
    px = float(np.sqrt(scene.pixel_area))
    # Pixels too coarse to show a building's shadow: a roof is found by its contrast alone.
    shadowless = px > config.structures.shadowless_pixel_m
    if windows is None:
        labels, dark, dimmed, anomaly = _object_pixels(scene, valid, config, shadowless=shadowless)
    else:
        labels, dark, dimmed, anomaly = _object_pixels_within(scene, valid, config, windows, shadowless=shadowless)
    reach = max(1, int(round(config.structures.shadow_reach_m / px)))
    shaped = _shaped(scene, labels, anomaly, valid, config, reach=reach, shadowless=shadowless)
    direction = _voted_direction(scene, shaped, labels, dark, reach=reach, given=direction)
    objects: dict[int, StructureObject] = {}
    keep = np.zeros(int(labels.max()) + 1, dtype=bool)
    for prop, (r0, c0, r1, c1), obj, width, rect, kind, far in shaped:
        under_veil = veiled is not None and float(veiled[r0:r1, c0:c1][obj].mean()) >= 0.5
        shade = (dimmed if under_veil else dark)[r0:r1, c0:c1]
        if direction is None:
            shadow = shadow_depth(obj, shade, far)
        else:
            shadow = cast_shadow(obj, shade, direction, far)
        is_known = known is not None and float(known[r0:r1, c0:c1][obj].mean()) >= 0.5
        if kind == "structure" and shadow < config.structures.min_shadow_px and not is_known and not shadowless:
            continue
        # A tower is tall for its size: its shadow is longer than it is wide.
        if kind == "tower" and not is_known and (
                direction is None or shadow * px < config.towers.min_tower_shadow_ratio * width):
            continue
        keep[prop.label] = True
        objects[prop.label] = StructureObject(
            id=prop.label, bbox=prop.bbox, kind=kind, area_m2=prop.area * scene.pixel_area, width_m=width,
            rectangularity=rect, shadow_px=shadow, contrast=float(prop.intensity_mean),
        )
    labels = np.where(keep[labels], labels, 0).astype("int32")
    return StructureMap(labels=labels, objects=objects, direction=direction, dark=dark, anomaly=anomaly)


#: A candidate of the right size and shape: its region, box with its shadow's reach, mask over the box,
#: width (m), rectangularity, kind, and how far its shadow is looked for (px).
_Shaped = tuple[Any, tuple[int, int, int, int], np.ndarray, float, float, ObjectKind, int]


def _shaped(scene: Scene, labels: np.ndarray, anomaly: np.ndarray, valid: np.ndarray, config: DetectConfig, *,
            reach: int, shadowless: bool) -> list[_Shaped]:
    """The candidates of a structure's or a tower's size, width and rectangular shape (shadows not yet asked)."""
    px = float(np.sqrt(scene.pixel_area))
    rows, cols = labels.shape
    shaped: list[_Shaped] = []
    tower_reach = max(reach, int(round(config.towers.tower_shadow_reach_m / px)))
    min_rect = config.structures.min_rectangularity
    if shadowless:
        # Coarse pixels merge a compound's buildings into one object, wings and all.
        coarse_area = (max(config.structures.min_structure_area_m2, _SHADOWLESS_MIN_PX * scene.pixel_area),
                       max(config.structures.max_structure_area_m2, _SHADOWLESS_MAX_PX * scene.pixel_area))
        min_rect = min(min_rect, _SHADOWLESS_MIN_RECTANGULARITY)
    kind: ObjectKind
    for prop in regionprops(labels, intensity_image=anomaly):
        area = prop.area * scene.pixel_area
        if shadowless:
            # A roof is at least two pixels wide: a line of pixels is a road, a wall or an edge.
            if not coarse_area[0] <= area <= coarse_area[1] or prop.axis_minor_length < 1.5:
                continue
            # Nor a streak: snow in a gully, a track, a stream bank.
            if prop.axis_major_length > _SHADOWLESS_MAX_ELONGATION * prop.axis_minor_length:
                continue
            # With no shadow to show it stands, a roof must stand out clearly: a cluster of a
            # few pixels just over the threshold is the noise of coarse pixels.
            if prop.intensity_mean < _SHADOWLESS_CONTRAST * config.structures.structure_anomaly:
                continue
            kind, far = "structure", reach
        elif config.structures.min_structure_area_m2 <= area <= config.structures.max_structure_area_m2:
            kind, far = "structure", reach
        elif config.towers.min_tower_area_m2 <= area < config.structures.min_structure_area_m2:
            kind, far = "tower", tower_reach
        else:
            continue
        r0, c0, r1, c1 = prop.bbox
        r0, c0 = max(0, r0 - far - 1), max(0, c0 - far - 1)
        r1, c1 = min(rows, r1 + far + 1), min(cols, c1 + far + 1)
        obj = labels[r0:r1, c0:c1] == prop.label
        if kind == "tower" and _cut(prop.bbox, obj, valid[r0:r1, c0:c1], labels.shape):
            continue  # a piece of something larger that nodata or cloud cuts off: not a tower
        width = 2.0 * float(ndimage.distance_transform_edt(np.pad(obj, 1)).max()) * px
        if width < (config.structures.min_structure_width_m if kind == "structure" else config.towers.min_tower_width_m):
            continue
        rect = rectangularity(obj)
        if rect < min_rect:
            continue
        shaped.append((prop, (r0, c0, r1, c1), obj, width, rect, kind, far))
    return shaped


def _voted_direction(scene: Scene, shaped: list[_Shaped], labels: np.ndarray, dark: np.ndarray, *, reach: int,
                     given: tuple[float, float] | None) -> tuple[float, float] | None:
    """The direction of shadows: ``given``, else voted by the structure candidates' shadows; a given one that
    the scene's own shadows contradict where the metadata gave the sun's azimuth gives way to them."""
    rows, cols = labels.shape
    votes = []
    for prop, _, _, _, _, kind, _ in shaped:
        if kind != "structure":
            continue
        m = 2 * reach + 1
        r0, c0, r1, c1 = prop.bbox
        r0, c0, r1, c1 = max(0, r0 - m), max(0, c0 - m), min(rows, r1 + m), min(cols, c1 + m)
        votes.append((labels[r0:r1, c0:c1] == prop.label, dark[r0:r1, c0:c1]))
    if given is None:
        return shadow_direction(votes, reach=reach)
    if sun_shadow_direction(scene) is not None and (seen := shadow_direction(votes, reach=reach)) is not None \
            and given[0] * seen[0] + given[1] * seen[1] < 0:
        # A direction given where the metadata gives the sun's azimuth, that the scene's own
        # shadows contradict, is not trusted: a wrong azimuth must not hide every structure.
        logger.warning("%s: shadows fall toward %.0f degrees, not toward %.0f degrees as given (the metadata's sun "
                       "azimuth or the whole image's shadows); the scene's own direction is used",
                       scene.path.name if scene.path else "scene", bearing(seen), bearing(given))
        return seen
    return given
