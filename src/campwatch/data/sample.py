"""Make the synthetic sample: dated 4-band scenes of a camp with known events and nuisances.

The scenes look like a camp from above: textured terrain, fields that follow the
seasons, roads, a compound with a perimeter fence (a thin line with posts along a cleared
patrol strip), guard towers and buildings that cast shadows. Between dates, events happen
(buildings built, demolished or re-roofed, towers added or removed, fence stretches
razed), and nuisances that are not change: a different season and sun angle, haze,
radiometric gain, sensor noise, misregistration up to 2 px, a cloud with its shadow, a
nodata strip. The truth of every event is written beside the images as GeoJSON.

Everything is drawn from one seeded generator per camp: the same call writes the same bytes.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import shapely
from affine import Affine
from pyproj import Transformer
from rasterio.features import rasterize
from scipy import ndimage
from shapely.geometry import LineString, Point, Polygon, box, mapping
from shapely.geometry.base import BaseGeometry

from campwatch.errors import InputError

__all__ = ["CampSpec", "SAMPLE_CAMPS", "write_sample", "write_series", "render_scene", "World"]

PIXEL = 0.5  # metres
UTM52N = "EPSG:32652"
BANDS = ("blue", "green", "red", "nir")

# Surface reflectances per band (blue, green, red, near-infrared) in 11-bit sensor
# counts, as very-high-resolution sensors deliver them in uint16 files.
_SCALE = 0.25  # counts per reflectance x 10,000
SOIL = np.array([900, 1150, 1450, 2100], "float32") * _SCALE
VEGETATION = np.array([380, 750, 480, 3600], "float32") * _SCALE
GRAVEL = np.array([1500, 1600, 1700, 1950], "float32") * _SCALE
ROOFS = {
    "metal": np.array([2300, 2450, 2450, 2650], "float32") * _SCALE,
    "tile": np.array([800, 900, 1700, 2050], "float32") * _SCALE,
    "concrete": np.array([2000, 2050, 2100, 2350], "float32") * _SCALE,
    "tar": np.array([550, 600, 650, 800], "float32") * _SCALE,
}
NOISE_SIGMA = 6.0  # counts
SHADOW = np.array([0.45, 0.38, 0.33, 0.30], "float32")  # sky light keeps shadows bluish


@dataclass(frozen=True)
class DateSpec:
    """One acquisition and its nuisances."""

    date: dt.date
    sun_elevation: float
    sun_azimuth: float
    shift: tuple[float, float] = (0.0, 0.0)  # (row, col) misregistration in pixels
    gain: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0)
    haze: float = 0.0
    cloud: bool = False
    nodata_strip: bool = False


@dataclass(frozen=True)
class CampSpec:
    """A sample series: where, how big, which dates, which events between them."""

    key: str
    name: str
    lat: float
    lon: float
    width_px: int
    height_px: int
    seed: int
    dates: tuple[DateSpec, ...]
    # Per interval (between date i and i+1), the number of each event.
    events: tuple[dict[str, int], ...]


@dataclass
class Building:
    """A building or tower in the world, in local metres (x east, y south from the corner)."""

    footprint: Polygon
    height: float
    roof: str
    kind: str = "structure"  # or "tower"


@dataclass
class World:
    """The state of a camp on one date."""

    width_m: float
    height_m: float
    compound: Polygon
    fence_pieces: list[LineString]
    fence_present: list[bool]
    buildings: dict[int, Building]
    fields: list[Polygon]
    roads: list[BaseGeometry]
    free_slots: list[Polygon] = field(default_factory=list)
    free_tower_sites: list[Point] = field(default_factory=list)

    def copy(self) -> World:
        return World(
            self.width_m, self.height_m, self.compound, list(self.fence_pieces),
            list(self.fence_present),
            {k: Building(b.footprint, b.height, b.roof, b.kind) for k, b in self.buildings.items()},
            list(self.fields), list(self.roads), list(self.free_slots), list(self.free_tower_sites),
        )


def _d(s: str) -> dt.date:
    return dt.date.fromisoformat(s)


SAMPLE_CAMPS: dict[str, CampSpec] = {
    "camp25": CampSpec(
        key="camp25",
        name="Kwan-li-so No. 25 (Chongjin), central compound",
        lat=41.834384,
        lon=129.725280,
        width_px=704,
        height_px=576,
        seed=25,
        dates=(
            DateSpec(_d("2015-04-18"), 52, 150),
            DateSpec(_d("2015-09-26"), 41, 158, shift=(0.6, -0.4), gain=(1.04, 1.02, 1.03, 0.97)),
            DateSpec(_d("2016-05-14"), 63, 145, shift=(-1.3, 0.8), cloud=True),
            DateSpec(_d("2016-10-02"), 38, 160, shift=(1.7, 1.1), haze=1.0, nodata_strip=True,
                     gain=(0.95, 0.97, 0.98, 1.05)),
            DateSpec(_d("2017-06-11"), 66, 140, shift=(0.3, -1.9)),
            DateSpec(_d("2018-03-30"), 46, 155, shift=(-0.8, -0.5), gain=(1.06, 1.05, 1.03, 1.0)),
        ),
        events=(
            {"structure_new": 2, "tower_added": 1},
            {"structure_demolished": 1, "fence_razed": 1},
            {"structure_modified": 1, "tower_removed": 1},
            {"structure_new": 1, "structure_demolished": 1, "tower_removed": 2},
            {"structure_new": 1, "fence_razed": 2},
        ),
    ),
    "camp22": CampSpec(
        key="camp22",
        name="Kwan-li-so No. 22 (Hoeryong), headquarters area",
        lat=42.537967,
        lon=129.935517,
        width_px=576,
        height_px=480,
        seed=22,
        dates=(
            DateSpec(_d("2012-05-20"), 60, 148),
            DateSpec(_d("2012-10-07"), 39, 161, shift=(-0.9, 1.4), haze=1.0, gain=(1.05, 1.03, 1.0, 0.96)),
            DateSpec(_d("2013-06-02"), 64, 143, shift=(1.2, 0.5), cloud=True),
            DateSpec(_d("2014-04-22"), 50, 152, shift=(0.4, -1.6), nodata_strip=True),
        ),
        events=(
            {"structure_demolished": 1, "tower_removed": 1},
            {"structure_new": 2, "fence_razed": 1},
            {"structure_demolished": 1, "structure_new": 1, "tower_removed": 1},
        ),
    ),
}


# ----------------------------------------------------------------------------- layout

def _layout(spec: CampSpec, rng: np.random.Generator) -> World:
    w, h = spec.width_px * PIXEL, spec.height_px * PIXEL
    inset = 40.0
    compound = box(inset, inset, w - inset, h - inset)
    # Fence: the compound outline cut into ~30 m pieces.
    ring = LineString(compound.exterior.coords)
    n = max(8, int(ring.length // 30))
    pieces = [shapely.ops.substring(ring, ring.length * i / n, ring.length * (i + 1) / n) for i in range(n)]
    # Towers every few pieces, just inside the fence.
    buildings: dict[int, Building] = {}
    next_id = 1
    tower_sites = []
    inner = compound.buffer(-4.0).exterior
    gate = box((compound.bounds[0] + compound.bounds[2]) / 2 - 8.0, 0, (compound.bounds[0] + compound.bounds[2]) / 2 + 8.0, h)
    for i in range(0, n, 2):
        p = inner.interpolate(inner.length * (i + 0.5) / n)
        if not p.buffer(2.0).intersects(gate):  # no tower in the middle of the road
            tower_sites.append(p)
    rng.shuffle(tower_sites)
    n_towers = int(len(tower_sites) * 0.7)
    for p in tower_sites[:n_towers]:
        buildings[next_id] = Building(p.buffer(1.6, cap_style="square"), 8.0, "concrete", "tower")
        next_id += 1
    free_towers = tower_sites[n_towers:]
    # Building slots in rows inside the compound, away from the fence and the main road.
    x0, y0, x1, y1 = compound.bounds
    main_road = box((x0 + x1) / 2 - 8.0, 0, (x0 + x1) / 2 + 8.0, h)
    slots = []
    y = y0 + 22.0
    while y + 12 < y1 - 18:
        x = x0 + 20.0
        while x + 26 < x1 - 16:
            bw = float(rng.choice([18.0, 24.0, 30.0]))
            bh = float(rng.choice([8.0, 10.0, 12.0]))
            slot = box(x, y, x + bw, y + bh)
            if not slot.intersects(main_road):
                slots.append(slot)
            x += bw + float(rng.uniform(12, 20))
        y += 28.0
    rng.shuffle(slots)
    n_built = int(len(slots) * 0.6)
    for s in slots[:n_built]:
        roof = str(rng.choice(["metal", "tile", "concrete"], p=[0.45, 0.35, 0.2]))
        buildings[next_id] = Building(s, float(rng.uniform(3.5, 7.0)), roof)
        next_id += 1
    # Roads: one through the gate to the edge, lanes between rows.
    cx = (x0 + x1) / 2
    roads: list[BaseGeometry] = [LineString([(cx, 0), (cx, h)]).buffer(3.0, cap_style="flat")]
    yy = y0 + 17.0
    while yy < y1 - 18:
        roads.append(LineString([(x0 + 8, yy), (x1 - 8, yy)]).buffer(2.0, cap_style="flat"))
        yy += 28.0
    # Fields outside the compound.
    fields = []
    for fx in np.arange(2.0, w - 30, 46.0):
        for fy in (2.0, h - inset + 6.0):
            fields.append(box(fx, fy, fx + 40.0, fy + inset - 12.0))
    for fy in np.arange(inset + 4.0, h - inset - 30, 40.0):
        fields.append(box(2.0, fy, inset - 12.0, fy + 34.0))
        fields.append(box(w - inset + 10.0, fy, w - 2.0, fy + 34.0))
    fields = [f for f in fields if not f.intersects(roads[0])]
    return World(w, h, compound, pieces, [True] * n, buildings, fields, roads,
                 free_slots=slots[n_built:], free_tower_sites=free_towers)


def _need(items: list[Any], kind: str) -> None:
    if not items:
        raise InputError(
            f"the sample scene is too small for its events: no place left for a '{kind}' event; "
            "make the scene larger or ask for fewer events"
        )


def _pick(items: list[Any], rng: np.random.Generator, kind: str) -> Any:
    _need(items, kind)
    return items[int(rng.integers(len(items)))]


def _apply_events(world: World, events: dict[str, int], rng: np.random.Generator,
                  touched: set[int]) -> tuple[World, list[dict[str, Any]]]:
    """Return the next date's world and the truth records of what happened."""
    nxt = world.copy()
    truth: list[dict[str, Any]] = []
    for kind in sorted(events):
        for _ in range(events[kind]):
            if kind == "structure_new":
                _need(nxt.free_slots, kind)
                slot = nxt.free_slots.pop(0)
                bid = max(nxt.buildings) + 1
                roof = str(rng.choice(["metal", "tile", "concrete"]))
                nxt.buildings[bid] = Building(slot, float(rng.uniform(3.5, 7.0)), roof)
                touched.add(bid)
                truth.append({"class": kind, "geometry": slot})
            elif kind in ("structure_demolished", "structure_modified"):
                ids = [k for k, b in nxt.buildings.items() if b.kind == "structure" and k not in touched]
                bid = _pick(ids, rng, kind)
                touched.add(bid)
                b = nxt.buildings[bid]
                truth.append({"class": kind, "geometry": b.footprint})
                if kind == "structure_demolished":
                    del nxt.buildings[bid]
                else:
                    others = [r for r in ("metal", "tile", "concrete") if r != b.roof]
                    nxt.buildings[bid] = Building(b.footprint, b.height, str(rng.choice(others)))
            elif kind == "tower_removed":
                ids = [k for k, b in nxt.buildings.items() if b.kind == "tower" and k not in touched]
                bid = _pick(ids, rng, kind)
                touched.add(bid)
                truth.append({"class": kind, "geometry": nxt.buildings[bid].footprint})
                del nxt.buildings[bid]
            elif kind == "tower_added":
                _need(nxt.free_tower_sites, kind)
                p = nxt.free_tower_sites.pop(0)
                bid = max(nxt.buildings) + 1
                nxt.buildings[bid] = Building(p.buffer(1.6, cap_style="square"), 8.0, "concrete", "tower")
                touched.add(bid)
                truth.append({"class": kind, "geometry": nxt.buildings[bid].footprint})
            elif kind == "fence_razed":
                n = len(nxt.fence_pieces)
                run = 2 + int(rng.integers(2))
                starts = [i for i in range(n) if all(nxt.fence_present[(i + j) % n] for j in range(run))]
                i0 = _pick(starts, rng, kind)
                idx = [(i0 + j) % n for j in range(run)]
                for i in idx:
                    nxt.fence_present[i] = False
                line = shapely.line_merge(shapely.union_all([nxt.fence_pieces[i] for i in idx]))
                truth.append({"class": kind, "geometry": line})
            else:  # pragma: no cover - specs are ours
                raise ValueError(f"unknown event {kind!r}")
    return nxt, truth


# ----------------------------------------------------------------------------- rendering

def _coverage(geoms: list[BaseGeometry], shape: tuple[int, int], *, all_touched: bool = False) -> np.ndarray:
    """Fraction of each pixel covered by ``geoms`` (local metres, y down), 4x supersampled."""
    if not geoms:
        return np.zeros(shape, "float32")
    s = 4
    t = Affine(PIXEL / s, 0, 0, 0, PIXEL / s, 0)
    hi = rasterize([(g, 1) for g in geoms], out_shape=(shape[0] * s, shape[1] * s), transform=t,
                   dtype="uint8", all_touched=all_touched)
    return hi.reshape(shape[0], s, shape[1], s).mean(axis=(1, 3)).astype("float32")


def _season(date: dt.date) -> float:
    """Vegetation vigour in [0, 1] by day of year (peak in late July)."""
    doy = date.timetuple().tm_yday
    return float(np.clip(0.5 + 0.55 * math.cos(2 * math.pi * (doy - 205) / 365.0), 0.05, 1.0))


def _shadow(footprint: Polygon, height: float, elev: float, azim: float) -> BaseGeometry:
    """Ground shadow of a box of ``height`` (local metres, y grows southward)."""
    length = height / math.tan(math.radians(elev))
    # The shadow points away from the sun: azimuth from north, clockwise.
    dx = -length * math.sin(math.radians(azim))
    dy = length * math.cos(math.radians(azim))  # north is -y
    moved = shapely.affinity.translate(footprint, dx, dy)
    return shapely.union_all([footprint, moved]).convex_hull.difference(footprint)


class _Terrain:
    """The parts of a scene that do not change between dates."""

    def __init__(self, spec: CampSpec, world: World, rng: np.random.Generator) -> None:
        shape = (spec.height_px, spec.width_px)
        self.shape = shape
        coarse = ndimage.gaussian_filter(rng.standard_normal(shape), 40)
        medium = ndimage.gaussian_filter(rng.standard_normal(shape), 6)
        coarse /= coarse.std() + 1e-9
        medium /= medium.std() + 1e-9
        self.veg = np.clip(0.45 + 0.2 * coarse + 0.12 * medium, 0, 1).astype("float32")
        self.albedo = (1.0 + 0.05 * ndimage.gaussian_filter(rng.standard_normal(shape), 1.0) * 2.5).astype("float32")
        self.field_phase = np.array([float(rng.uniform(-0.4, 0.4)) for _ in world.fields])
        self.field_id = rasterize(
            [(f, i + 1) for i, f in enumerate(world.fields)], out_shape=shape,
            transform=Affine(PIXEL, 0, 0, 0, PIXEL, 0), dtype="int32",
        )
        self.road_cov = _coverage(world.roads, shape)
        self.strip_cov = _coverage([world.compound.exterior.buffer(3.0)], shape)
        self.compound_cov = _coverage([world.compound.buffer(-3.0)], shape)
        self.cloud_centre = (float(rng.uniform(0.3, 0.7)), float(rng.uniform(0.3, 0.7)))
        self.strip_col = int(rng.uniform(0.15, 0.75) * shape[1])


def render_scene(spec: CampSpec, world: World, date: DateSpec, terrain: _Terrain,
                 rng: np.random.Generator) -> np.ndarray:
    """Render one date of ``world``: (4, M, N) uint16, 0 where there is no data."""
    shape = terrain.shape
    season = _season(date.date)
    veg = terrain.veg * (0.35 + 0.65 * season)
    # Inside the compound the ground is trodden: less vegetation.
    veg = veg * (1 - 0.6 * terrain.compound_cov)
    img = (SOIL[:, None, None] * (1 - veg) + VEGETATION[:, None, None] * veg) * terrain.albedo
    vigour = np.array([
        float(np.clip(_season(date.date + dt.timedelta(days=int(p * 120))) * 1.1 - 0.1, 0, 1))
        for p in terrain.field_phase
    ])
    crops = np.concatenate([np.zeros((1, 4)), SOIL * (1 - vigour[:, None]) + VEGETATION * vigour[:, None]])
    in_field = terrain.field_id > 0
    crop_img = np.moveaxis(crops[terrain.field_id], -1, 0).astype("float32") * terrain.albedo
    img = np.where(in_field[None], crop_img, img)
    img = img * (1 - terrain.strip_cov) + SOIL[:, None, None] * 1.05 * terrain.strip_cov
    img = img * (1 - terrain.road_cov) + GRAVEL[:, None, None] * terrain.road_cov

    # Fence: a thin dark line with posts every 3 m, only where it stands.
    standing = [p for p, ok in zip(world.fence_pieces, world.fence_present, strict=True) if ok]
    if standing:
        wire = _coverage([shapely.union_all(standing).buffer(0.25)], shape)
        posts = [Point(p.interpolate(d)).buffer(0.35) for p in standing for d in np.arange(0, p.length, 3.0)]
        post_cov = _coverage(posts, shape)
        img *= 1 - 0.45 * wire[None]
        img *= 1 - 0.5 * post_cov[None]
        post_shadow = [shapely.affinity.translate(g, *_shadow_offset(2.5, date)) for g in posts]
        img *= 1 - 0.3 * _coverage(post_shadow, shape)[None]

    # Shadows first, then roofs on top.
    shadows = [_shadow(b.footprint, b.height, date.sun_elevation, date.sun_azimuth) for b in world.buildings.values()]
    shade = _coverage(shadows, shape)
    img = img * (1 - shade * (1 - SHADOW[:, None, None]))
    for roof_name, roof in ROOFS.items():
        cov = _coverage([b.footprint for b in world.buildings.values() if b.roof == roof_name], shape)
        img = img * (1 - cov) + roof[:, None, None] * cov

    if date.cloud:
        rows, cols = np.mgrid[0:shape[0], 0:shape[1]]
        cy, cx = terrain.cloud_centre[0] * shape[0], terrain.cloud_centre[1] * shape[1]
        r = CLOUD_SIGMA_M / PIXEL
        thick = np.exp(-(((rows - cy) ** 2 + ((cols - cx) / 1.4) ** 2) / (2 * r * r)))
        sdx, sdy = _shadow_offset(CLOUD_HEIGHT_M, date)
        sh = np.exp(-(((rows - cy - sdy / PIXEL) ** 2 + ((cols - cx - sdx / PIXEL) / 1.4) ** 2) / (2 * r * r)))
        img = img * (1 - 0.55 * sh)
        white = np.array([5200, 5300, 5400, 5600], "float32") * _SCALE
        img = img * (1 - 0.85 * thick) + white[:, None, None] * 0.85 * thick
    if date.haze:
        img = img + np.array([260, 170, 90, 30], "float32")[:, None, None] * _SCALE * date.haze
    img *= np.asarray(date.gain, "float32")[:, None, None]
    if date.shift != (0.0, 0.0):
        img = np.stack([ndimage.shift(b, date.shift, order=1, mode="nearest") for b in img])
    img = img + rng.normal(0.0, NOISE_SIGMA, img.shape).astype("float32")
    out = np.clip(np.round(img), 1, 65535).astype("uint16")
    if date.nodata_strip:
        c0 = terrain.strip_col
        out[:, :, c0:c0 + NODATA_STRIP_PX] = 0
    return out


CLOUD_SIGMA_M = 28.0
CLOUD_HEIGHT_M = 90.0  # a low cloud: its shadow falls in the scene
NODATA_STRIP_PX = 60


def _obscured_areas(terrain: _Terrain, date: DateSpec) -> list[tuple[str, BaseGeometry]]:
    """What hides the ground on a date, in local metres: cloud, cloud shadow, nodata."""
    out: list[tuple[str, BaseGeometry]] = []
    rows, cols = terrain.shape
    if date.cloud:
        cy = terrain.cloud_centre[0] * rows * PIXEL
        cx = terrain.cloud_centre[1] * cols * PIXEL
        # Where the cloud is thick (its weight exceeds 50%: 1.18 sigma) the ground cannot be
        # seen; its thinner fringe is a veil that structures show through.
        reach = CLOUD_SIGMA_M * math.sqrt(2 * math.log(2))
        ellipse = shapely.affinity.scale(Point(cx, cy).buffer(reach, 64), 1.4, 1.0)
        out.append(("cloud", ellipse))
        dx, dy = _shadow_offset(CLOUD_HEIGHT_M, date)
        out.append(("cloud shadow", shapely.affinity.translate(ellipse, dx, dy)))
    if date.nodata_strip:
        c0 = terrain.strip_col * PIXEL
        out.append(("nodata", box(c0, 0, c0 + NODATA_STRIP_PX * PIXEL, rows * PIXEL)))
    return out


def _shadow_offset(height: float, date: DateSpec) -> tuple[float, float]:
    length = height / math.tan(math.radians(date.sun_elevation))
    return (-length * math.sin(math.radians(date.sun_azimuth)), length * math.cos(math.radians(date.sun_azimuth)))


# ----------------------------------------------------------------------------- writing

def _georef(spec: CampSpec) -> tuple[Affine, Transformer]:
    to_utm = Transformer.from_crs("EPSG:4326", UTM52N, always_xy=True)
    cx, cy = to_utm.transform(spec.lon, spec.lat)
    left = round((cx - spec.width_px * PIXEL / 2) / PIXEL) * PIXEL
    top = round((cy + spec.height_px * PIXEL / 2) / PIXEL) * PIXEL
    return Affine(PIXEL, 0, left, 0, -PIXEL, top), Transformer.from_crs(UTM52N, "EPSG:4326", always_xy=True)


def _local_to_lonlat(geom: BaseGeometry, transform: Affine, to_ll: Transformer) -> BaseGeometry:
    def fn(xy: np.ndarray) -> np.ndarray:
        x = transform.c + xy[:, 0]
        y = transform.f - xy[:, 1]
        lon, lat = to_ll.transform(x, y)
        return np.round(np.column_stack([lon, lat]), 8)

    return shapely.transform(geom, fn)


def write_series(spec: CampSpec, out_dir: str | Path) -> list[Path]:
    """Write one camp's series and its truth into ``out_dir``; return the image paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(spec.seed)
    world = _layout(spec, rng)
    terrain = _Terrain(spec, world, rng)
    transform, to_ll = _georef(spec)
    worlds = [world]
    truth: list[dict[str, Any]] = []
    touched: set[int] = set()
    for i, events in enumerate(spec.events):
        world, records = _apply_events(world, events, rng, touched)
        for rec in records:
            rec["interval"] = (i, i + 1)
        truth.extend(records)
        worlds.append(world)
    paths = []
    for w, date in zip(worlds, spec.dates, strict=True):
        data = render_scene(spec, w, date, terrain, np.random.default_rng([spec.seed, date.date.toordinal()]))
        path = out / f"{spec.key}_{date.date.isoformat()}.tif"
        _write_tif(path, data, transform, date)
        paths.append(path)
    hidden = [(kind, geom, i) for i, d in enumerate(spec.dates) for kind, geom in _obscured_areas(terrain, d)]
    _write_truth(out / "truth.geojson", spec, truth, transform, to_ll, paths, hidden)
    return paths


def _write_tif(path: Path, data: np.ndarray, transform: Affine, date: DateSpec) -> None:
    profile = {
        "driver": "GTiff", "width": data.shape[2], "height": data.shape[1], "count": 4,
        "dtype": "uint16", "crs": UTM52N, "transform": transform, "nodata": 0,
        "tiled": True, "blockxsize": 256, "blockysize": 256,
        "compress": "zstd", "zstd_level": 19, "predictor": 2, "interleave": "pixel",
    }
    tmp = path.with_name(path.name + ".partial")
    with rasterio.open(tmp, "w", **profile) as dst:
        dst.write(data)
        for i, name in enumerate(BANDS, start=1):
            dst.set_band_description(i, name)
        dst.update_tags(
            TIFFTAG_DATETIME=date.date.strftime("%Y:%m:%d 10:30:00"),
            TIFFTAG_IMAGEDESCRIPTION="campwatch synthetic sample scene (not real imagery)",
            TIFFTAG_COPYRIGHT="Synthetic imagery made by campwatch (not a real image)",
            SUN_ELEVATION=str(date.sun_elevation), SUN_AZIMUTH=str(date.sun_azimuth),
        )
    tmp.replace(path)


def _write_truth(path: Path, spec: CampSpec, truth: list[dict[str, Any]], transform: Affine,
                 to_ll: Transformer, images: list[Path],
                 hidden: list[tuple[str, BaseGeometry, int]]) -> None:
    features = []
    for n, rec in enumerate(truth, start=1):
        geom = rec["geometry"]
        i, j = rec["interval"]
        props: dict[str, Any] = {
            "id": n,
            "class": rec["class"],
            "interval": {"from": spec.dates[i].date.isoformat(), "to": spec.dates[j].date.isoformat()},
            "before_image": images[i].name,
            "after_image": images[j].name,
        }
        if geom.geom_type in ("LineString", "MultiLineString"):
            props["length_m"] = round(geom.length, 2)
        else:
            props["area_m2"] = round(geom.area, 2)
        features.append({"type": "Feature", "geometry": mapping(_local_to_lonlat(geom, transform, to_ll)),
                         "properties": props})
    for kind, geom, i in hidden:
        features.append({
            "type": "Feature",
            "geometry": mapping(_local_to_lonlat(geom, transform, to_ll)),
            "properties": {"class": "obscured", "cause": kind, "date": spec.dates[i].date.isoformat(),
                           "image": images[i].name},
        })
    doc = {
        "type": "FeatureCollection",
        "name": f"{spec.key} truth",
        "camp": spec.name,
        "note": ("Truth of the events in the synthetic sample series made by campwatch.data.sample. "
                 "Features of class 'obscured' give what hides the ground on one date "
                 "(cloud, cloud shadow, nodata): events there cannot be seen in that date's pairs."),
        "dates": [d.date.isoformat() for d in spec.dates],
        "features": features,
    }
    tmp = path.with_name(path.name + ".partial")
    tmp.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    tmp.replace(path)


def write_sample(out_dir: str | Path, *, camps: tuple[str, ...] | None = None) -> dict[str, list[Path]]:
    """Write the sample series of each camp into ``out_dir/<camp>/``.

    Raises
    ------
    InputError
        For an unknown camp name (the message lists the valid ones).
    """
    names = camps or tuple(SAMPLE_CAMPS)
    unknown = [c for c in names if c not in SAMPLE_CAMPS]
    if unknown:
        raise InputError(f"unknown sample camp(s) {', '.join(unknown)}; valid ones are {', '.join(SAMPLE_CAMPS)}")
    return {c: write_series(SAMPLE_CAMPS[c], Path(out_dir) / c) for c in names}
