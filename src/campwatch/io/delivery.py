"""What a scene is made of as an analyst receives it: its rasters, its metadata files, and what they say.

A scene given to campwatch is one of:

- a raster file (GeoTIFF, JPEG 2000, NITF, VRT), with any metadata GDAL reads beside it
  (a Maxar/DigitalGlobe ``.IMD``/``.XML``, Pleiades DIMAP, Landsat MTL, ...) and Planet's
  ``_metadata.json`` or ``_metadata.xml``;
- a folder of tiles of one image (a Maxar delivery folder among them; with a ``.TIL`` file,
  GDAL's TIL driver mosaics the tiles);
- a Sentinel-2 scene: a ``.SAFE`` folder, or a folder of one raster per band named ``B02``
  to ``B12``; its bands are read onto one grid and named by their colour;
- a STAC Item (``.json``) whose assets are local files beside it.

:func:`open_delivery` says which, and what the metadata says about the acquisition
(:class:`Acquisition`): date and time, sensor, sun and view angles, cloud cover. Only what
GDAL does not read is read here (Planet, Sentinel-2 and STAC metadata), with
:mod:`xml.etree` (expat refuses entity expansion attacks) and :mod:`pystac`, from files
no larger than :data:`MAX_METADATA_BYTES`.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from campwatch.errors import SceneError
from campwatch.io.sources import MAX_METADATA_BYTES, check_inside, check_local, open_raster, read_metadata_text

__all__ = ["Acquisition", "Delivery", "open_delivery", "is_scene", "gdal_acquisition", "RASTER_SUFFIXES",
           "SENTINEL2_BANDS", "MAX_METADATA_BYTES", "imd_band_names"]

#: The file endings read as rasters (and as tiles of a folder image).
RASTER_SUFFIXES = (".tif", ".tiff", ".vrt", ".jp2", ".ntf", ".til")

#: Sentinel-2 bands read into a scene, by band code: their colour (STAC ``eo`` common names).
#: The 60 m atmospheric bands (B01 aerosols, B09 water vapour, B10 cirrus) see the air, not the ground.
SENTINEL2_BANDS = {
    "B02": "blue", "B03": "green", "B04": "red", "B05": "rededge071", "B06": "rededge075",
    "B07": "rededge078", "B08": "nir", "B8A": "nir08", "B11": "swir16", "B12": "swir22",
}
_S2_BAND = re.compile(r"(?:^|[^A-Za-z0-9])(B(?:0[1-9]|1[0-2]|8A))(?:[^A-Za-z0-9]|$)")


@dataclass(frozen=True)
class Acquisition:
    """How an image was taken, as its delivery's metadata says.

    Attributes
    ----------
    datetime : datetime.datetime or None
        The acquisition time, in UTC.
    sensor : str or None
        The satellite or sensor (``WV03``, ``Sentinel-2A``, ``PlanetScope 0f34``).
    sun_azimuth, sun_elevation : float or None
        Degrees: azimuth clockwise from north, elevation above the horizon.
    off_nadir : float or None
        The view angle from nadir, degrees.
    cloud_cover : float or None
        Percent of the scene.
    source : str
        The format and file the values were read from.
    """

    datetime: dt.datetime | None = None
    sensor: str | None = None
    sun_azimuth: float | None = None
    sun_elevation: float | None = None
    off_nadir: float | None = None
    cloud_cover: float | None = None
    source: str = ""

    @property
    def date(self) -> dt.date | None:
        """The acquisition date (UTC), or None."""
        return self.datetime.date() if self.datetime is not None else None

    def record(self) -> dict[str, Any]:
        """A JSON-ready record of the known values (for reports)."""
        rec: dict[str, Any] = {"datetime": self.datetime.isoformat().replace("+00:00", "Z") if self.datetime else None,
                               "sensor": self.sensor, "sun_azimuth_deg": self.sun_azimuth,
                               "sun_elevation_deg": self.sun_elevation, "off_nadir_deg": self.off_nadir,
                               "cloud_cover_percent": self.cloud_cover, "source": self.source}
        return {k: v for k, v in rec.items() if v is not None}


@dataclass(frozen=True)
class Delivery:
    """The files of one scene and what its metadata says.

    Attributes
    ----------
    path : Path
        What the user gave: a file, a folder or a STAC Item.
    kind : str
        ``"image"``, ``"tiles"``, ``"maxar"``, ``"planet"``, ``"sentinel2"`` or ``"stac"``.
    layout : str
        How the pixels are read: ``"file"`` (one raster: ``rasters[0]``), ``"tiles"`` (a
        mosaic of ``rasters``) or ``"bands"`` (one band per raster, onto the finest grid).
    rasters : tuple of Path
    band_names : tuple of str or None
        The colour of each band, when the delivery names them (each raster of a band stack,
        or each band of a STAC asset).
    metadata : tuple of Path
        The metadata files read (hashed with the rasters: they date the scene).
    acquisition : Acquisition or None
    """

    path: Path
    kind: str
    layout: str
    rasters: tuple[Path, ...]
    band_names: tuple[str | None, ...] | None = None
    metadata: tuple[Path, ...] = ()
    acquisition: Acquisition | None = None

    @property
    def files(self) -> list[Path]:
        """Every file the scene is made of, each once: rasters, sidecars and metadata."""
        return list(dict.fromkeys([*self.rasters, *self.metadata]))


# --------------------------------------------------------------------------- values


def _number(value: Any, low: float, high: float) -> float | None:
    """A finite number within [low, high] from metadata, else None (a hostile or broken value is dropped)."""
    try:
        x = float(str(value).strip().strip('"'))
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) and low <= x <= high else None


def _datetime(value: Any) -> dt.datetime | None:
    """A UTC datetime from an ISO-like metadata value (``2016-08-22T05:33:02.837711Z``,
    ``2016-08-22 05:33:02``), or None when it is not one of a plausible year."""
    text = str(value or "").strip().strip('"')
    m = re.match(r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?", text)
    if not m:
        return None
    y, mo, d, h, mi, s = (int(p) if p else 0 for p in m.groups())
    try:
        when = dt.datetime(y, mo, d, h, mi, s, tzinfo=dt.timezone.utc)
    except ValueError:
        return None
    return when if 1960 <= when.year <= dt.date.today().year + 1 else None


def _text(value: Any, limit: int = 80) -> str | None:
    """A short printable string from metadata, or None."""
    text = "".join(ch for ch in str(value or "").strip().strip('"') if ch.isprintable())[:limit]
    return text or None


def _xml(path: Path) -> ET.Element:
    try:
        return ET.fromstring(read_metadata_text(path))
    except ET.ParseError as exc:
        raise SceneError(f"{path}: not readable XML metadata ({exc})") from None


def _find(root: ET.Element, *names: str) -> str | None:
    """The text of the first element whose local name (namespace dropped) is one of ``names``."""
    for name in names:
        for node in root.iter():
            if node.tag.rsplit("}", 1)[-1] == name and (node.text or "").strip():
                return (node.text or "").strip()
    return None


# --------------------------------------------------------------------------- GDAL's metadata readers


#: Maxar's band groups in an ``.IMD`` (``BAND_B``...), by colour.
_IMD_BANDS = {"C": "coastal", "B": "blue", "G": "green", "Y": "yellow", "R": "red", "RE": "rededge", "N": "nir",
              "N2": "nir2", "P": "pan"}


def imd_band_names(ds: Any) -> tuple[str | None, ...] | None:
    """The colour of each band of a Maxar image, from its ``.IMD``'s band groups (file order), or None."""
    imd = ds.tags(ns="IMD") or {}
    groups = list(dict.fromkeys(k.split(".", 1)[0][5:] for k in imd if k.startswith("BAND_") and "." in k))
    if not groups or len(groups) != ds.count or any(g not in _IMD_BANDS for g in groups):
        return None
    return tuple(_IMD_BANDS[g] for g in groups)


def gdal_acquisition(ds: Any) -> Acquisition | None:
    """What GDAL's metadata readers found for an open dataset (``IMAGERY``, ``IMD``, ``MTL`` domains).

    GDAL reads Maxar/DigitalGlobe ``.IMD``/``.XML``, Pleiades and SPOT DIMAP, Landsat MTL and
    others beside a raster: ``IMAGERY`` gives the time, satellite and cloud cover, ``IMD``
    (Maxar) and ``MTL`` (Landsat) the sun and view angles.
    """
    imagery = ds.tags(ns="IMAGERY") or {}
    imd = ds.tags(ns="IMD") or {}
    mtl = ds.tags(ns="MTL") or {}
    if not (imagery or imd or mtl):
        return None

    def angle(keys: tuple[str, ...], low: float, high: float) -> float | None:
        for domain in (imd, mtl):
            for key, value in domain.items():
                if key.rsplit(".", 1)[-1] in keys:
                    got = _number(value, low, high)
                    if got is not None:
                        return got
        return None

    cloud = _number(imagery.get("CLOUDCOVER"), 0, 100)
    return Acquisition(
        datetime=_datetime(imagery.get("ACQUISITIONDATETIME")),
        sensor=_text(imagery.get("SATELLITEID")),
        sun_azimuth=angle(("meanSunAz", "SUN_AZIMUTH"), 0, 360),
        sun_elevation=angle(("meanSunEl", "SUN_ELEVATION"), -90, 90),
        off_nadir=angle(("meanOffNadirViewAngle",), 0, 90),
        cloud_cover=cloud,
        source="GDAL " + ", ".join(n for n, d in (("IMAGERY", imagery), ("IMD", imd), ("MTL", mtl)) if d),
    )


# --------------------------------------------------------------------------- Planet


def _planet_sidecar(raster: Path) -> Path | None:
    """Planet's metadata beside a scene file: ``<id>_metadata.json`` or ``<stem>_metadata.xml``."""
    best: Path | None = None
    for candidate in raster.parent.iterdir():
        name = candidate.name
        for suffix in ("_metadata.json", "_metadata.xml"):
            if name.endswith(suffix) and raster.stem.startswith(name[: -len(suffix)]) and candidate.is_file():
                if best is None or len(name) > len(best.name):
                    best = candidate
    return best


def _planet_acquisition(path: Path) -> Acquisition:
    if path.suffix == ".json":
        try:
            doc = json.loads(read_metadata_text(path))
        except json.JSONDecodeError as exc:
            raise SceneError(f"{path}: not readable JSON metadata ({exc})") from None
        props = doc.get("properties") if isinstance(doc, dict) else None
        if not isinstance(props, dict):
            raise SceneError(f"{path}: Planet metadata without 'properties'")
        cloud = _number(props.get("cloud_cover"), 0, 1)
        sat = _text(props.get("satellite_id"))
        return Acquisition(
            datetime=_datetime(props.get("acquired")),
            sensor=" ".join(p for p in (_text(props.get("instrument")) or "PlanetScope", sat) if p),
            sun_azimuth=_number(props.get("sun_azimuth"), 0, 360),
            sun_elevation=_number(props.get("sun_elevation"), -90, 90),
            off_nadir=_number(props.get("view_angle"), 0, 90),
            cloud_cover=None if cloud is None else 100.0 * cloud,
            source=f"Planet {path.name}")
    root = _xml(path)
    sat = _text(_find(root, "serialIdentifier"))
    return Acquisition(
        datetime=_datetime(_find(root, "acquisitionDate", "acquisitionDateTime")),
        sensor=" ".join(p for p in (_text(_find(root, "shortName")) or "PlanetScope", sat) if p),
        sun_azimuth=_number(_find(root, "illuminationAzimuthAngle"), 0, 360),
        sun_elevation=_number(_find(root, "illuminationElevationAngle"), -90, 90),
        off_nadir=_number(_find(root, "spaceCraftViewAngle", "incidenceAngle"), 0, 90),
        cloud_cover=_number(_find(root, "cloudCoverPercentage"), 0, 100),
        source=f"Planet {path.name}")


def _raster_acquisition(raster: Path) -> tuple[str, Acquisition | None, tuple[Path, ...]]:
    """The kind, acquisition and metadata files of one raster: GDAL's readers, else Planet's sidecar."""
    with open_raster(raster) as ds:
        found = gdal_acquisition(ds)
        sidecars = tuple(Path(f) for f in ds.files if Path(f) != raster)
    planet = _planet_sidecar(raster)
    if planet is not None:
        return "planet", _planet_acquisition(planet), (*sidecars, planet)
    if found is not None:
        kind = "maxar" if any(p.suffix.lower() in (".imd", ".til") for p in (*sidecars, raster)) else "image"
        return kind, found, sidecars
    return "image", None, sidecars


# --------------------------------------------------------------------------- Sentinel-2


def _s2_code(path: Path) -> str | None:
    m = _S2_BAND.search(path.stem)
    return m[1] if m else None


def _s2_band_files(folder: Path) -> dict[str, Path]:
    """The finest raster of each Sentinel-2 band in a folder (or a SAFE's granule), by band code."""
    if folder.name.upper().endswith(".SAFE") or (folder / "GRANULE").is_dir():
        granules = sorted(p for p in (folder / "GRANULE").glob("*") if p.is_dir()) if (folder / "GRANULE").is_dir() else []
        if len(granules) != 1:
            raise SceneError(f"{folder}: a Sentinel-2 SAFE folder with {len(granules)} granules; campwatch takes one "
                             "granule (tile) per scene")
        candidates = [p for p in (granules[0] / "IMG_DATA").rglob("*") if p.suffix.lower() in RASTER_SUFFIXES]
    else:
        candidates = [p for p in folder.iterdir() if p.suffix.lower() in RASTER_SUFFIXES]
    best: dict[str, tuple[float, Path]] = {}
    for path in sorted(candidates):
        code = _s2_code(path)
        if code not in SENTINEL2_BANDS or not path.is_file():
            continue
        with open_raster(path) as ds:
            if ds.count != 1:
                raise SceneError(f"{path}: a Sentinel-2 band file with {ds.count} bands; expected one")
            res = abs(ds.transform.a)
        if code not in best or res < best[code][0]:
            best[code] = (res, path)
    return {code: best[code][1] for code in SENTINEL2_BANDS if code in best}


def _s2_acquisition(folder: Path) -> tuple[Acquisition | None, tuple[Path, ...]]:
    """What a SAFE's ``MTD_MSIL2A.xml``/``MTD_MSIL1C.xml`` and its granule's ``MTD_TL.xml`` say."""
    product = next((p for p in sorted(folder.glob("MTD_MSIL*.xml")) if p.is_file()), None)
    tile = next((p for p in sorted(folder.glob("GRANULE/*/MTD_TL.xml")) if p.is_file()), None)
    if product is None and tile is None:
        return None, ()
    when = sensor = cloud = az = el = view = None
    if product is not None:
        root = _xml(product)
        when = _datetime(_find(root, "PRODUCT_START_TIME", "DATATAKE_SENSING_START"))
        sensor = _text(_find(root, "SPACECRAFT_NAME"))
        cloud = _number(_find(root, "Cloud_Coverage_Assessment", "CLOUDY_PIXEL_PERCENTAGE"), 0, 100)
    if tile is not None:
        root = _xml(tile)
        when = when or _datetime(_find(root, "SENSING_TIME"))
        sun = next((n for n in root.iter() if n.tag.rsplit("}", 1)[-1] == "Mean_Sun_Angle"), None)
        if sun is not None:
            zenith = _number(_find(sun, "ZENITH_ANGLE"), 0, 180)
            el = None if zenith is None else 90.0 - zenith
            az = _number(_find(sun, "AZIMUTH_ANGLE"), 0, 360)
        views = [_number(n.findtext("{*}ZENITH_ANGLE") or n.findtext("ZENITH_ANGLE"), 0, 90) for n in root.iter()
                 if n.tag.rsplit("}", 1)[-1] == "Mean_Viewing_Incidence_Angle"]
        views_known = [v for v in views if v is not None]
        view = sum(views_known) / len(views_known) if views_known else None
    files = tuple(p for p in (product, tile) if p is not None)
    return Acquisition(datetime=when, sensor=sensor, sun_azimuth=az, sun_elevation=el, off_nadir=view,
                       cloud_cover=cloud, source="Sentinel-2 " + ", ".join(p.name for p in files)), files


# --------------------------------------------------------------------------- STAC


_COMMON_NAMES = {"coastal", "blue", "green", "red", "rededge", "rededge071", "rededge075", "rededge078", "nir",
                 "nir08", "nir09", "swir16", "swir22", "pan", "yellow"}


def _stac_delivery(path: Path) -> Delivery:
    import pystac

    try:
        doc = json.loads(read_metadata_text(path))
        item = pystac.Item.from_dict(doc, href=str(path.resolve()), migrate=False, preserve_dict=False)
    except (json.JSONDecodeError, pystac.STACError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise SceneError(f"{path}: not a STAC Item ({type(exc).__name__}: {str(exc)[:200]})") from None
    folder = path.resolve().parent

    def local(key: str, asset: Any) -> Path:
        href = str(asset.href)
        check_local(href)
        if "://" in href:
            raise SceneError(f"{path}: asset {key!r} is at {href[:200]!r}; campwatch reads local files only")
        file = Path(asset.get_absolute_href() or href)
        if not file.is_absolute():
            file = folder / file
        if folder not in file.resolve().parents:
            raise SceneError(f"{path}: asset {key!r} ({href[:200]}) lies outside the item's folder; keep an item's "
                             "assets beside it")
        if file.parent == folder:
            check_inside(file, folder)
        if not file.is_file():
            raise SceneError(f"{path}: asset {key!r}: {file} not found")
        return file

    def bands_of(asset: Any) -> list[str | None]:
        bands = asset.extra_fields.get("eo:bands") or []
        return [b.get("common_name") if isinstance(b, dict) and b.get("common_name") in _COMMON_NAMES else None
                for b in bands] if isinstance(bands, list) else []

    rasters = {k: a for k, a in item.assets.items()
               if Path(str(a.href)).suffix.lower() in RASTER_SUFFIXES
               and (not a.roles or "data" in a.roles or "visual" in a.roles or "analytic" in a.roles)}
    named = {k: bands_of(a) for k, a in rasters.items()}
    singles = {k: names[0] for k, names in named.items() if len(names) == 1 and names[0]}
    props = item.properties
    when = item.datetime or _datetime(props.get("start_datetime"))
    if when is not None and when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    cloud = _number(props.get("eo:cloud_cover"), 0, 100)
    acquisition = Acquisition(
        datetime=when.astimezone(dt.timezone.utc) if when is not None else None,
        sensor=_text(props.get("platform") or props.get("constellation")),
        sun_azimuth=_number(props.get("view:sun_azimuth"), 0, 360),
        sun_elevation=_number(props.get("view:sun_elevation"), -90, 90),
        off_nadir=_number(props.get("view:off_nadir"), 0, 90),
        cloud_cover=cloud, source=f"STAC Item {path.name}")
    if {"blue", "green", "red"} <= set(singles.values()):
        colours = list(SENTINEL2_BANDS.values())
        order = sorted(singles, key=lambda k: colours.index(str(singles[k])) if singles[k] in colours else 99)
        return Delivery(path=path, kind="stac", layout="bands", rasters=tuple(local(k, rasters[k]) for k in order),
                        band_names=tuple(singles[k] for k in order), metadata=(path,), acquisition=acquisition)
    data = [k for k, a in rasters.items() if a.roles and "data" in a.roles] or list(rasters)
    if len(data) != 1:
        raise SceneError(f"{path}: the STAC Item has {len(data)} raster data assets ({', '.join(data[:10])}) and "
                         "does not name them by band (eo:bands common_name); give one image asset, or one per band")
    names = named[data[0]]
    return Delivery(path=path, kind="stac", layout="file", rasters=(local(data[0], rasters[data[0]]),),
                    band_names=tuple(names) if names else None, metadata=(path,), acquisition=acquisition)


# --------------------------------------------------------------------------- the scene


def _is_stac(path: Path) -> bool:
    if path.suffix.lower() != ".json" or not path.is_file():
        return False
    with open(path, "rb") as f:
        head = f.read(4096)
    return b'"stac_version"' in head


def is_scene(path: Path) -> bool:
    """Whether ``path`` looks like a scene: a raster file, a STAC Item, a folder of rasters or a SAFE."""
    if path.is_file():
        return path.suffix.lower() in RASTER_SUFFIXES or _is_stac(path)
    if path.is_dir():
        if path.name.upper().endswith(".SAFE") or (path / "GRANULE").is_dir():
            return True
        return any(p.suffix.lower() in RASTER_SUFFIXES for p in path.iterdir() if p.is_file())
    return False


def open_delivery(path: str | Path) -> Delivery:
    """Say what the scene at ``path`` is made of and what its metadata says.

    Raises
    ------
    SceneError
        If the path does not exist or is remote, a folder holds no raster, a STAC Item's
        asset is remote, outside its folder or missing, or a metadata file is too large
        or unreadable.
    """
    check_local(path)
    path = Path(path)
    if not path.exists():
        raise SceneError(f"{path}: file not found")
    if path.is_file():
        if _is_stac(path):
            return _stac_delivery(path)
        kind, acquisition, sidecars = _raster_acquisition(path)
        return Delivery(path=path, kind=kind, layout="file", rasters=(path,), metadata=sidecars,
                        acquisition=acquisition)
    items = [p for p in sorted(path.glob("*.json")) if _is_stac(p)]
    if len(items) == 1:  # a folder holding a STAC Item and its assets
        return _stac_delivery(items[0])
    bands = _s2_band_files(path)
    if bands:
        for f in bands.values():
            if f.parent == path:
                check_inside(f, path)
        if not {"B02", "B03", "B04"} <= set(bands):
            raise SceneError(f"{path}: Sentinel-2 bands {', '.join(bands)} without all of B02, B03 and B04 (blue, "
                             "green, red)")
        acquisition, metadata = _s2_acquisition(path)
        return Delivery(path=path, kind="sentinel2", layout="bands", rasters=tuple(bands.values()),
                        band_names=tuple(SENTINEL2_BANDS[c] for c in bands), metadata=metadata,
                        acquisition=acquisition)
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in RASTER_SUFFIXES and p.is_file())
    for f in files:
        check_inside(f, path)
    if not files:
        raise SceneError(f"{path}: the folder holds no GeoTIFF tiles or other rasters ({', '.join(RASTER_SUFFIXES)}), no Sentinel-2 "
                         "bands and no SAFE")
    tils = [f for f in files if f.suffix.lower() == ".til"]
    if len(tils) == 1:
        kind, acquisition, sidecars = _raster_acquisition(tils[0])
        return Delivery(path=path, kind="maxar", layout="file", rasters=(tils[0],), metadata=sidecars,
                        acquisition=acquisition)
    if tils:
        raise SceneError(f"{path}: holds {len(tils)} .TIL files; a folder must hold one image")
    kind, acquisition, sidecars = _raster_acquisition(files[0])
    found: list[Path] = list(sidecars)
    for tile in files[1:]:
        found += [p for p in _raster_acquisition(tile)[2] if p not in found]
    return Delivery(path=path, kind="tiles" if kind == "image" else kind, layout="tiles", rasters=tuple(files),
                    metadata=tuple(m for m in found if m not in files), acquisition=acquisition)
