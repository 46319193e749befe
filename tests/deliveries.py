"""Small imagery deliveries as analysts receive them, built in code: Maxar, Planet, Sentinel-2, STAC.

Each writer takes a (4, M, N) blue/green/red/nir array on the test grid of ``conftest`` and
packages it as that format, with the acquisition time and sun angles in the metadata.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from affine import Affine
from conftest import CRS, TRANSFORM, write_tif


def _dg_name(when: dt.datetime) -> str:
    """A Maxar product name: ``20MAY01053302-M2AS-058000000010_01_P001`` (no ISO date in it)."""
    return when.strftime("%y%b%d%H%M%S").upper() + "-M2AS-058000000010_01_P001"


def imd_text(when: dt.datetime, *, sun_az: float, sun_el: float, off_nadir: float = 12.5, sat: str = "WV03",
             cloud: float = 0.02, rows: int = 256, cols: int = 240) -> str:
    """A DigitalGlobe ``.IMD`` as GDAL reads it."""
    t = when.strftime("%Y-%m-%dT%H:%M:%S.000000Z")
    bands = "".join(f"BEGIN_GROUP = BAND_{b}\n\tabsCalFactor = 0.01;\n\teffectiveBandwidth = 0.05;\nEND_GROUP = BAND_{b}\n"
                    for b in "BGRN")
    return (f'version = "28.3";\ngenerationTime = {t};\nproductOrderId = "058000000010_01_P001";\n'
            f'bandId = "Multi";\nnumRows = {rows};\nnumColumns = {cols};\nbitsPerPixel = 16;\n{bands}'
            "BEGIN_GROUP = MAP_PROJECTED_PRODUCT\n\tdatumName = \"WE\";\n\tmapProjName = \"UTM\";\n\tmapZone = 52;\n"
            "\tmapHemi = \"N\";\n\tULX = 576000.25;\n\tULY = 4631999.75;\n\tcolStepSize = 0.5;\n"
            "\trowStepSize = 0.5;\nEND_GROUP = MAP_PROJECTED_PRODUCT\n"
            f'BEGIN_GROUP = IMAGE_1\n\tsatId = "{sat}";\n\tCatId = "104001001E8F1F00";\n'
            f"\tfirstLineTime = {t};\n\tmeanSunAz = {sun_az};\n\tmeanSunEl = {sun_el};\n"
            f"\tmeanOffNadirViewAngle = {off_nadir};\n\tcloudCover = {cloud};\nEND_GROUP = IMAGE_1\nEND;\n")


def write_maxar(folder: Path, data: np.ndarray, when: dt.datetime, *, sun_az: float = 135.0, sun_el: float = 40.0,
                tiled: bool = False, transform: Affine = TRANSFORM) -> Path:
    """A Maxar delivery folder: one ``.TIF`` with its ``.IMD``, or two tiles with a ``.TIL`` and the ``.IMD``."""
    folder.mkdir(parents=True, exist_ok=True)
    name = _dg_name(when)
    (folder / f"{name}.IMD").write_text(imd_text(when, sun_az=sun_az, sun_el=sun_el, rows=data.shape[1],
                                                 cols=data.shape[2]))
    if not tiled:
        write_tif(folder / f"{name}.TIF", data, transform=transform, descriptions=None)
        return folder
    half = data.shape[2] // 2
    tiles = []
    for i, (c0, c1) in enumerate(((0, half), (half, data.shape[2])), start=1):
        tile = f"{name[:13]}-M2AS_R1C{i}-058000000010_01_P001.TIF"
        write_tif(folder / tile, np.ascontiguousarray(data[:, :, c0:c1]), transform=transform * Affine.translation(c0, 0),
                  descriptions=None)
        tiles.append((tile, c0, c1 - 1))
    rows = data.shape[1] - 1
    groups = "".join(f'BEGIN_GROUP = TILE_{i}\n\tfilename = "{t}";\n\tULColOffset = {c0};\n\tULRowOffset = 0;\n'
                     f"\tLRColOffset = {c1};\n\tLRRowOffset = {rows};\nEND_GROUP = TILE_{i}\n"
                     for i, (t, c0, c1) in enumerate(tiles, start=1))
    (folder / f"{name}.TIL").write_text(f'bandId = "MS1";\nnumTiles = {len(tiles)};\n{groups}END;\n')
    return folder


def write_planet(folder: Path, data: np.ndarray, when: dt.datetime, *, sun_az: float = 135.0, sun_el: float = 40.0,
                 form: str = "json", name_date: dt.date | None = None) -> Path:
    """A PlanetScope scene: ``<id>_3B_AnalyticMS.tif`` with ``<id>_metadata.json`` (or the ``_metadata.xml``)."""
    folder.mkdir(parents=True, exist_ok=True)
    ident = (name_date or when.date()).strftime("%Y%m%d") + when.strftime("_%H%M%S") + "_0f34"
    tif = write_tif(folder / f"{ident}_3B_AnalyticMS.tif", data)
    acquired = when.strftime("%Y-%m-%dT%H:%M:%S.123456Z")
    if form == "json":
        doc = {"id": ident, "type": "Feature", "properties": {
            "acquired": acquired, "satellite_id": "0f34", "instrument": "PS2", "item_type": "PSScene",
            "sun_azimuth": sun_az, "sun_elevation": sun_el, "view_angle": 3.1, "cloud_cover": 0.05}}
        (folder / f"{ident}_metadata.json").write_text(json.dumps(doc))
    else:
        xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<ps:EarthObservation xmlns:ps="http://schemas.planet.com/ps/v1/planet_product_metadata_geocorrected_level"
  xmlns:eop="http://earth.esa.int/eop" xmlns:opt="http://earth.esa.int/opt" xmlns:gml="http://www.opengis.net/gml">
 <gml:using><eop:EarthObservationEquipment>
  <eop:platform><eop:Platform><eop:shortName>PlanetScope</eop:shortName>
   <eop:serialIdentifier>0f34</eop:serialIdentifier></eop:Platform></eop:platform>
  <eop:acquisitionParameters><ps:Acquisition>
   <eop:incidenceAngle>2.9</eop:incidenceAngle>
   <opt:illuminationAzimuthAngle uom="deg">{sun_az}</opt:illuminationAzimuthAngle>
   <opt:illuminationElevationAngle uom="deg">{sun_el}</opt:illuminationElevationAngle>
   <ps:spaceCraftViewAngle uom="deg">3.1</ps:spaceCraftViewAngle>
   <ps:acquisitionDateTime>{acquired}</ps:acquisitionDateTime>
  </ps:Acquisition></eop:acquisitionParameters>
 </eop:EarthObservationEquipment></gml:using>
 <gml:resultOf><ps:EarthObservationResult><opt:cloudCoverPercentage uom="percentage">5</opt:cloudCoverPercentage>
 </ps:EarthObservationResult></gml:resultOf>
</ps:EarthObservation>
"""
        (folder / f"{tif.stem}_metadata.xml").write_text(xml)
    return tif


#: What the test scene's bands become in Sentinel-2: band code -> (index of the test band, 20 m or not).
S2_FROM_TEST = {"B02": (0, False), "B03": (1, False), "B04": (2, False), "B08": (3, False),
                "B05": (2, True), "B11": (3, True), "B12": (2, True)}


def _coarse(band: np.ndarray) -> np.ndarray:
    """A band at twice the pixel size (2 x 2 means)."""
    m, n = band.shape[0] // 2 * 2, band.shape[1] // 2 * 2
    return band[:m, :n].reshape(m // 2, 2, n // 2, 2).mean(axis=(1, 3)).round().astype(band.dtype)


def _write_band(path: Path, band: np.ndarray, transform: Affine, driver: str = "GTiff") -> None:
    profile: dict[str, Any] = {"driver": driver, "width": band.shape[1], "height": band.shape[0], "count": 1,
                               "dtype": band.dtype.name, "crs": CRS, "transform": transform, "nodata": 0}
    if driver == "JP2OpenJPEG":
        profile.update(QUALITY=100, REVERSIBLE="YES")
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(band, 1)


def write_s2_folder(folder: Path, data: np.ndarray, when: dt.datetime) -> Path:
    """A folder of one GeoTIFF per Sentinel-2 band, as EO Browser exports them (B05, B11, B12 at 20 m)."""
    folder.mkdir(parents=True, exist_ok=True)
    day = when.strftime("%Y-%m-%d")
    for code, (i, coarse) in S2_FROM_TEST.items():
        band = _coarse(data[i]) if coarse else data[i]
        transform = TRANSFORM * Affine.scale(2) if coarse else TRANSFORM
        _write_band(folder / f"{day}-00_00_{day}-23_59_Sentinel-2_L2A_{code}_(Raw).tiff", band, transform)
    return folder


def write_safe(parent: Path, data: np.ndarray, when: dt.datetime, *, sun_az: float = 135.0,
               sun_zenith: float = 50.0) -> Path:
    """A Sentinel-2 L2A ``.SAFE`` folder: JPEG 2000 bands at 10 and 20 m, and its two metadata files."""
    stamp = when.strftime("%Y%m%dT%H%M%S")
    safe = parent / f"S2A_MSIL2A_{stamp}_N0214_R032_T52TDL_{stamp}.SAFE"
    granule = safe / "GRANULE" / f"L2A_T52TDL_A025838_{stamp}"
    for res in ("R10m", "R20m"):
        (granule / "IMG_DATA" / res).mkdir(parents=True, exist_ok=True)
    for code, (i, coarse) in S2_FROM_TEST.items():
        res = "20m" if coarse else "10m"
        band = _coarse(data[i]) if coarse else data[i]
        transform = TRANSFORM * Affine.scale(2) if coarse else TRANSFORM
        _write_band(granule / "IMG_DATA" / f"R{res}" / f"T52TDL_{stamp}_{code}_{res}.jp2", band, transform,
                    "JP2OpenJPEG")
    # A 20 m red band too: the finest of each band is read.
    _write_band(granule / "IMG_DATA" / "R20m" / f"T52TDL_{stamp}_B04_20m.jp2", _coarse(data[2]),
                TRANSFORM * Affine.scale(2), "JP2OpenJPEG")
    iso = when.strftime("%Y-%m-%dT%H:%M:%S.024Z")
    (safe / "MTD_MSIL2A.xml").write_text(f"""<?xml version="1.0" encoding="UTF-8"?>
<n1:Level-2A_User_Product xmlns:n1="https://psd-14.sentinel2.eo.esa.int/PSD/User_Product_Level-2A.xsd">
 <n1:General_Info><Product_Info><PRODUCT_START_TIME>{iso}</PRODUCT_START_TIME>
  <Datatake datatakeIdentifier="GS2A"><SPACECRAFT_NAME>Sentinel-2A</SPACECRAFT_NAME></Datatake>
 </Product_Info></n1:General_Info>
 <n1:Quality_Indicators_Info><Cloud_Coverage_Assessment>3.5</Cloud_Coverage_Assessment></n1:Quality_Indicators_Info>
</n1:Level-2A_User_Product>
""")
    (granule / "MTD_TL.xml").write_text(f"""<?xml version="1.0" encoding="UTF-8"?>
<n1:Level-2A_Tile_ID xmlns:n1="https://psd-14.sentinel2.eo.esa.int/PSD/S2_PDI_Level-2A_Tile_Metadata.xsd">
 <n1:General_Info><SENSING_TIME>{iso}</SENSING_TIME></n1:General_Info>
 <n1:Geometric_Info><Tile_Angles>
  <Mean_Sun_Angle><ZENITH_ANGLE unit="deg">{sun_zenith}</ZENITH_ANGLE><AZIMUTH_ANGLE unit="deg">{sun_az}</AZIMUTH_ANGLE></Mean_Sun_Angle>
  <Mean_Viewing_Incidence_Angle_List>
   <Mean_Viewing_Incidence_Angle bandId="0"><ZENITH_ANGLE unit="deg">4.0</ZENITH_ANGLE><AZIMUTH_ANGLE unit="deg">100</AZIMUTH_ANGLE></Mean_Viewing_Incidence_Angle>
   <Mean_Viewing_Incidence_Angle bandId="1"><ZENITH_ANGLE unit="deg">6.0</ZENITH_ANGLE><AZIMUTH_ANGLE unit="deg">100</AZIMUTH_ANGLE></Mean_Viewing_Incidence_Angle>
  </Mean_Viewing_Incidence_Angle_List>
 </Tile_Angles></n1:Geometric_Info>
</n1:Level-2A_Tile_ID>
""")
    return safe


def write_stac(folder: Path, data: np.ndarray, when: dt.datetime, *, sun_az: float = 135.0, sun_el: float = 40.0,
               per_band: bool = False, hrefs: dict[str, str] | None = None) -> Path:
    """A STAC Item beside its local assets: one 4-band asset, or one asset per band (``per_band``).

    ``hrefs`` replaces assets' hrefs (to try hostile ones).
    """
    import pystac
    from shapely.geometry import box, mapping

    folder.mkdir(parents=True, exist_ok=True)
    common = ("blue", "green", "red", "nir")
    item = pystac.Item(id="scene-" + when.strftime("%Y%m%d"), geometry=mapping(box(129.8, 41.8, 129.9, 41.85)),
                       bbox=[129.8, 41.8, 129.9, 41.85], datetime=when,
                       properties={"platform": "worldview-3", "view:sun_azimuth": sun_az,
                                   "view:sun_elevation": sun_el, "view:off_nadir": 14.0, "eo:cloud_cover": 1.0})
    if per_band:
        for i, name in enumerate(common):
            write_tif(folder / f"{name}.tif", data[i:i + 1], descriptions=None)
            item.add_asset(name, pystac.Asset(href=f"./{name}.tif", media_type=pystac.MediaType.GEOTIFF,
                                              roles=["data"], extra_fields={"eo:bands": [{"name": name,
                                                                                          "common_name": name}]}))
    else:
        write_tif(folder / "analytic.tif", data, descriptions=None)
        item.add_asset("analytic", pystac.Asset(href="./analytic.tif", media_type=pystac.MediaType.GEOTIFF,
                                                roles=["data"], extra_fields={"eo:bands": [
                                                    {"name": f"b{i}", "common_name": n} for i, n in enumerate(common)]}))
        item.add_asset("thumbnail", pystac.Asset(href="./thumb.png", media_type=pystac.MediaType.PNG,
                                                 roles=["thumbnail"]))
    doc = item.to_dict(include_self_link=False)
    for key, href in (hrefs or {}).items():
        doc["assets"][key]["href"] = href
    path = folder / "item.json"
    path.write_text(json.dumps(doc))
    return path
