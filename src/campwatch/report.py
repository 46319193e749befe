"""Build and write the GeoJSON report of a run: one feature per change, with full provenance."""

from __future__ import annotations

import platform
from collections.abc import Sequence

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import mapping

from campwatch._version import __version__
from campwatch.classes import CLASSES, NO_CHANGE, NOT_ANALYSED, OBSCURED, possible_classes
from campwatch.detection.confidence import calibration
from campwatch.detection.model import model_member
from campwatch.detection.results import ChangeRegion, PairResult, PixelTotals, structure_counts
from campwatch.document import (
    REPORT_SCHEMA,
    ChangeFeature,
    Coregistration,
    GridRecord,
    InputRecord,
    JSONTable,
    LazyList,
    PairImage,
    PairReport,
    PossibleClasses,
    Provenance,
)
from campwatch.grid import Grid as AnalysisGrid
from campwatch.io.geometry import to_wgs84
from campwatch.io.jsonio import clean
from campwatch.io.scene import Scene

__all__ = ["build_report", "classes_member", "software_versions", "REPORT_SCHEMA"]

_DECIMALS = 7  # about 1 cm in longitude/latitude


def software_versions() -> dict[str, str]:
    """Versions of campwatch and of the libraries that shape its results."""
    import geopandas
    import matplotlib
    import rasterio
    import scipy
    import skimage

    return {
        "campwatch": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "scikit-image": skimage.__version__,  # type: ignore[attr-defined]
        "rasterio": rasterio.__version__,
        "gdal": rasterio.__gdal_version__,
        "shapely": shapely.__version__,
        "geopandas": geopandas.__version__,
        "matplotlib": matplotlib.__version__,
    }


def classes_member(pixel_m: float) -> PossibleClasses:
    """What a report says of the classes its imagery can show: those looked for, and why not the others."""
    possible, why = possible_classes(pixel_m)
    return PossibleClasses(pixel_size_m=round(pixel_m, 3), possible=tuple(possible), not_possible=dict(why))


def build_report(result: PairResult, *, inputs: Sequence[InputRecord], outputs: dict[str, str],
                 series_links: dict[int, tuple[str, str]] | None = None) -> PairReport:
    """The report of a run (``report.geojson``): a GeoJSON FeatureCollection (RFC 7946, WGS84) when
    written (:meth:`campwatch.document.PairReport.to_geojson`), its features made as they are written.

    Parameters
    ----------
    result : DetectResult or BlockwiseResult
    inputs : sequence of InputRecord
        Every input file (:func:`campwatch.run.input_records`).
    outputs : dict
        Output file name to its SHA-256.
    series_links : dict, optional
        For a pair of a series or check: region id to ``(series id, status)``
        (:attr:`campwatch.monitor.tracking.ChangeTracker.links`); each feature then carries
        ``series_id`` and ``series_status``.
    """
    grid = result.grid
    crs = grid.crs
    totals = result.totals()
    transformer = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    dates = (result.before.date.isoformat(), result.after.date.isoformat())
    interval = {"from": dates[0], "to": dates[1]}

    def feature(r: ChangeRegion) -> ChangeFeature:
        centroid = r.geometry.centroid
        lon, lat = transformer.transform(centroid.x, centroid.y)
        props = r.properties()
        props.update(
            {
                "interval": interval,
                "before_image": result.before.path.name if result.before.path else None,
                "after_image": result.after.path.name if result.after.path else None,
                "centroid_lonlat": [round(lon, _DECIMALS), round(lat, _DECIMALS)],
                "centroid_xy": [round(centroid.x, 2), round(centroid.y, 2)],
            }
        )
        if series_links is not None:
            series_id, status = series_links.get(r.id, (None, None))
            props.update({"series_id": series_id, "series_status": status})
        # Coordinates are finite Python floats already: only the properties need cleaning.
        return ChangeFeature(id=r.id, change_class=str(props["class"]), interval=dates, properties=clean(props),
                             geometry=mapping(to_wgs84(r.geometry, crs, transformer=transformer)))

    return PairReport(
        aoi=result.aoi.summary() if result.aoi is not None else None,
        before=_image(result.before, inputs, "before"), after=_image(result.after, inputs, "after"),
        interval=dates, analysis_crs=crs.to_string(), grid=_grid_member(grid),
        model=model_member(result.model), confidence=calibration().record(), thresholds=clean(result.thresholds.to_dict()),
        coregistration=Coregistration(
            shift_px=(round(result.shift[0], 2), round(result.shift[1], 2)),
            applied=bool(result.config.coregistration.coregister and result.shift != (0.0, 0.0)),
            residual=clean(result.residual_shift),
            note="shift (row, col) by which the after image was moved onto the before image; residual: "
                 "the shift left after that, by phase correlation on tiles (pixels)"),
        blocks=clean(result.blocks), summary=_summary_member(result, totals, clean(result.summary().to_dict())),
        class_codes={c.name: c.code for c in CLASSES.values()}
        | {"no_change": NO_CHANGE, "obscured": OBSCURED, "not_analysed": NOT_ANALYSED},
        classes=classes_member(float(np.sqrt(totals.pixel_area))), warnings=tuple(result.warnings),
        provenance=Provenance(schema=REPORT_SCHEMA, inputs=tuple(inputs), outputs=dict(outputs),
                              parameters=result.config.to_dict(model=result.model_named), software=dict(software_versions())),
        features=LazyList(lambda: (feature(r) for r in result.regions), len(result.regions)),
    )


def _grid_member(grid: AnalysisGrid) -> GridRecord:
    """The analysed grid: its transform, size and window of the earlier image."""
    window = grid.window
    return GridRecord(transform=tuple(round(v, 6) for v in tuple(grid.transform)[:6]), width=grid.shape[1],
                height=grid.shape[0], window=None if window is None else {
                    "col_off": int(window.col_off), "row_off": int(window.row_off),
                    "width": int(window.width), "height": int(window.height)})


def _summary_member(result: PairResult, totals: PixelTotals, summary: JSONTable) -> JSONTable:
    """The report's summary: the classes' counts and sizes, and what was analysed, hidden or masked."""
    area_px = totals.pixel_area
    analysed_m2 = totals.clear_px * area_px
    return {
        **summary,
        "analysed_area_m2": round(analysed_m2, 1),
        "obscured_area_m2": {
            "before": round(totals.obscured_px["before"] * area_px, 1),
            "after": round(totals.obscured_px["after"] * area_px, 1),
        },
        "seen_through_area_m2": round(totals.seen_through_px * area_px, 1),
        "obscured_regions": clean(result.obscured_regions),
        "not_analysed_fraction": round(1.0 - totals.analysed_px / max(1, totals.grid_px), 4),
        "obscured_fraction": {
            "before": round(totals.obscured_fraction("before"), 4),
            "after": round(totals.obscured_fraction("after"), 4),
        },
        **structure_counts(result.structures_seen),
        "masked_by_user_m2": {k: round(v, 1) for k, v in result.masked_m2.items()},
    }


def _image(scene: Scene, inputs: Sequence[InputRecord], role: str) -> PairImage:
    hashes = [i.sha256 for i in inputs if i.role == role]
    # A folder of tiles has one hash per tile, listed under "inputs".
    return PairImage(file=scene.path.name if scene.path else None, date=scene.date.isoformat(),
                     sha256=hashes[0] if len(hashes) == 1 else None, files=len(hashes), bands=tuple(scene.band_names),
                     dtype=scene.dtype,
                     # What the delivery's metadata says: time, sensor, sun and view angles.
                     acquisition=None if scene.acquisition is None else clean(scene.acquisition.record()))


