"""Propose the fences, towers and structures seen in one image, in the AOI file format, for an analyst to review."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from rasterio.features import geometry_mask
from shapely.geometry import mapping

from campwatch.config import DetectConfig
from campwatch.detection.fences import find_fence_lines, ridge_strength
from campwatch.detection.structures import StructureMap, find_structures
from campwatch.detection.vectorize import region_polygons
from campwatch.errors import InputError, OutputError
from campwatch.io.aoi import AOI, parse_aoi, read_aoi
from campwatch.io.geometry import transformer
from campwatch.io.jsonio import write_json_atomic
from campwatch.io.output import check_writable
from campwatch.io.pair import PairRequest, aoi_window, pair_info
from campwatch.io.recorded import publish_paths
from campwatch.io.scene import read_scene, scene_info, scene_info_undated
from campwatch.monitor.history import scene_digest
from campwatch.progress import start
from campwatch.run import analyse_pair

__all__ = ["inventory", "write_inventory", "run_inventory"]


def inventory(image: str | Path, *, aoi: AOI, config: DetectConfig | None = None,
              date: dt.date | None = None, since: str | Path | None = None,
              since_date: dt.date | None = None, model: str | Path | None = None) -> dict[str, Any]:
    """Find the fences, towers and structures of one image inside an AOI.

    ``since``: an earlier image of the place. The structures built between it and ``image``
    (the pair's ``structure_new`` changes, found with the change model ``model`` when one is
    given) are proposed too, each with what found it and its confidence, in place
    of the classical finder's structures they cover. A change model compares two dates: it
    sees only what was built since, never what stood on both. ``since_date`` replaces the
    earlier image's own date, as ``date`` does the image's.

    Returns
    -------
    dict
        A GeoJSON FeatureCollection in the AOI file format (WGS84): the AOI's extent
        feature, then one feature per proposed fence (LineString), tower (Point, its
        centre) and structure (Polygon), each with ``"proposed": true``, its measurements
        and the image it was seen in. It reads back with :func:`campwatch.io.aoi.parse_aoi`.

    Raises
    ------
    SceneError, AOIError
        For an unreadable image or an AOI outside it.
    InputError
        When ``model`` names a change model and no ``since`` image is given.
    """
    config = config or DetectConfig()
    named = None if model is None else str(model)
    if named and since is None:
        raise InputError(f"the change model {named} compares two dates; inventory proposes what one image "
                         "shows: give --since EARLIER (an image of the place before), and the model proposes "
                         "the structures built since, or leave the model out for the classical finder alone")
    info = scene_info(image) if date is None else dataclasses.replace(scene_info_undated(image), date=date)
    window = aoi_window(info, aoi)
    # Units weighted by their cost (objects 0.43 s, fences 0.2 s, reading 0.1 s on the sample).
    task = start("inventory stage", 8, f"reading {int(window.width)} x {int(window.height)} px")
    scene = read_scene(image, window=window, date=date)
    task.advance("finding structures and towers", by=1)
    inside = geometry_mask([aoi.geometry_in(scene.crs)], out_shape=scene.shape, transform=scene.transform,
                           invert=True)
    valid = scene.valid & inside
    if not valid.any():
        raise InputError(f"{image}: no valid pixel inside the AOI (all nodata)")
    px = float(np.sqrt(scene.pixel_area))
    smap = find_structures(scene, config=config, valid=valid)
    task.advance("finding fences", by=5)
    polygons = region_polygons(smap.labels, scene.transform)
    fences = find_fence_lines(scene, ridge_strength(scene, pixel_size=px), config=config.fences)
    task.advance(f"{len(smap.objects)} objects and {len(fences)} fence lines found", by=2)
    to_ll = transformer(scene.crs, "EPSG:4326")
    built = (_built_since(since, image, aoi, config, (since_date, date), crs=scene.crs, named=named)
             if since is not None else None)

    def ll(geom: Any) -> Any:
        return shapely.transform(geom, lambda xy: np.round(np.column_stack(to_ll.transform(xy[:, 0], xy[:, 1])), 7))

    seen = {"image": Path(image).name, "date": info.date.isoformat(), "proposed": True}
    extent = {"type": "Feature", "properties": dict(aoi.properties) | {"role": "aoi", "name": aoi.name},
              "geometry": mapping(aoi.geometry)}
    features: list[dict[str, Any]] = [extent]
    for line in fences:
        features.append({"type": "Feature", "geometry": mapping(ll(line)),
                         "properties": {"role": "fence", "length_m": round(line.length, 1)} | seen})
    classical = _classical_objects(smap, polygons, built.covered if built is not None else (lambda geom: False),
                                   ll, seen, features)
    if built is not None:
        for geom, props in built.features:
            features.append({"type": "Feature", "geometry": mapping(ll(geom)),
                             "properties": {"role": "structure"} | props | seen})
    structures = classical["structure"] + (len(built.features) if built is not None else 0)
    return {
        "type": "FeatureCollection",
        "campwatch_inventory": {
            "image": str(Path(image).resolve()),
            "image_sha256": scene_digest(info),
            "date": info.date.isoformat(),
            "aoi": aoi.path,
            "parameters": config.to_dict(model=named),
            "counts": {"fences": len(fences), "towers": classical["tower"], "structures": structures,
                       "structures_classical": classical["structure"],
                       "structures_built_since": len(built.features) if built is not None else None},
            "found_by": {"fences": "classical", "towers": "classical",
                         "structures": "classical" if built is None else f"classical, and {built.finder}"},
            "since": built.record if built is not None else None,
            "model": built.model if built is not None else None,
            "note": "Proposals found in the image: review them, keep what is right, and use the file as the "
                    "AOI file for detect.",
        },
        "features": features,
    }


@dataclasses.dataclass(frozen=True)
class _BuiltSince:
    """The structures built between an earlier image and the inventory's, as the pair found them."""

    #: (polygon in the inventory scene's CRS, properties) of each.
    features: list[tuple[Any, dict[str, Any]]]
    #: What found them: ``"the change model NAME on the pair since DATE"`` or the classical stages.
    finder: str
    #: The earlier image: its path, date and SHA-256.
    record: dict[str, Any]
    #: The model's record (:attr:`campwatch.detection.results.DetectResult.model`), or None.
    model: dict[str, Any] | None
    #: Their union, for the classical structures they cover.
    union: Any

    def covered(self, geom: Any) -> bool:
        """Whether half of ``geom`` (a classical structure) lies in a structure built since."""
        return bool(geom.area > 0 and geom.intersection(self.union).area >= 0.5 * geom.area)



def _classical_objects(smap: StructureMap, polygons: dict[int, Any], covered: Callable[[Any], bool],
                       ll: Callable[[Any], Any], seen: dict[str, Any], features: list[dict[str, Any]]) -> dict[str, int]:
    """Append the classical finder's towers (their centres) and structures to ``features`` (those a
    structure built since covers left out); return how many of each."""
    classical = {"structure": 0, "tower": 0}
    for oid, obj in sorted(smap.objects.items()):
        geom = polygons[oid]
        if obj.kind == "structure" and covered(geom):
            continue  # the structure built since, as the pair found it, stands for it
        classical[obj.kind] += 1
        props = {"area_m2": round(obj.area_m2, 1), "width_m": round(obj.width_m, 2),
                 "shadow_px": round(obj.shadow_px, 2), "contrast": round(obj.contrast, 2),
                 "found_by": "classical"} | seen
        if obj.kind == "tower":
            features.append({"type": "Feature", "geometry": mapping(ll(geom.centroid)),
                             "properties": {"role": "tower"} | props})
        else:
            features.append({"type": "Feature", "geometry": mapping(ll(geom)),
                             "properties": {"role": "structure"} | props})
    return classical

def _built_since(since: str | Path, image: str | Path, aoi: AOI, config: DetectConfig,
                 dates: tuple[dt.date | None, dt.date | None], *, crs: Any, named: str | None) -> _BuiltSince:
    request = PairRequest(since, image, aoi=aoi, dates=dates, model=named)
    with analyse_pair(request, config=config) as result:
        pair_crs = result.grid.crs
        move = transformer(pair_crs, crs)
        feats = []
        for r in result.regions:
            if r.change_class != "structure_new":
                continue
            geom = shapely.transform(r.geometry, lambda xy, m=move: np.column_stack(m.transform(xy[:, 0], xy[:, 1])))
            seen = r.evidence.get("model")
            if not isinstance(seen, dict):
                found = "the classical change stages"
            elif seen.get("classical") == "agrees":
                found = f"the change model {seen.get('name')} and the classical change stages"
            elif seen.get("classical") == "not seen by the model":
                found = f"the classical change stages (not seen by the change model {seen.get('name')})"
            else:
                found = f"the change model {seen.get('name')}"
            found += f", new since {result.before.date.isoformat()}"
            feats.append((geom, {"area_m2": round(r.area_m2, 1), "confidence": round(r.confidence, 3),
                                 "found_by": found}))
        model = result.model
        earlier = {"image": str(Path(since).resolve()), "date": result.before.date.isoformat(),
                   "image_sha256": scene_digest(pair_info(request).before)}
    name = f"the change model {model['name']}" if model else "the classical change stages"
    return _BuiltSince(feats, f"{name} on the pair since {earlier['date']}", earlier, model,
                       shapely.union_all([g for g, _ in feats]) if feats else shapely.Polygon())


def write_inventory(doc: dict[str, Any], path: str | Path) -> None:
    """Write an inventory atomically, after checking that it reads back as an AOI file.

    Raises
    ------
    OutputError
        If ``path`` is a folder or its folder cannot be written.
    """
    _check_out(Path(path))
    doc = publish_paths(doc, Path(path).resolve().parent)  # the image and AOI relative to the file, never absolute
    parse_aoi(json.loads(json.dumps(doc)), source=str(path))
    Path(path).parent.mkdir(parents=True, exist_ok=True)  # as detect's --out, made when missing
    write_json_atomic(doc, path)


def run_inventory(image: str | Path, aoi_path: str | Path, out_path: str | Path, *,
                  config: DetectConfig | None = None, date: dt.date | None = None,
                  since: str | Path | None = None, since_date: dt.date | None = None,
                  model: str | Path | None = None) -> dict[str, Any]:
    """Propose the features of ``image`` inside the AOI of ``aoi_path`` and write them to ``out_path``:
    what ``campwatch inventory`` does. Checks the output before any work; returns the inventory."""
    _check_out(Path(out_path))
    doc = inventory(image, aoi=read_aoi(aoi_path), config=config, date=date, since=since, since_date=since_date,
                    model=model)
    write_inventory(doc, out_path)
    return doc


def _check_out(path: Path) -> None:
    if path.is_dir():
        raise OutputError(f"--out {path}: is a folder; give a file name such as features.geojson")
    check_writable(path.parent if str(path.parent) else Path("."))
