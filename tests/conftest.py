"""Shared fixtures: small synthetic rasters built in code, and the bundled sample."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.crs import CRS as RioCRS
from rasterio.enums import ColorInterp
from scipy import ndimage

from campwatch.io.scene import Scene, SceneInfo

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
AOIS = ROOT / "aois"

# A 0.5 m grid in UTM 52N near Camp 25.
ORIGIN = (576000.0, 4632000.0)
TRANSFORM = Affine(0.5, 0, ORIGIN[0], 0, -0.5, ORIGIN[1])
CRS = "EPSG:32652"
BANDS = ("blue", "green", "red", "nir")
SOIL = np.array([225, 290, 360, 525], "float32")
ROOF = np.array([575, 610, 610, 660], "float32")


def series_doc(doc: dict[str, Any]):
    """A series report made by hand (a timeline's test): ``doc`` with the series' schema, read typed."""
    from campwatch.document import SERIES_SCHEMA, SeriesReport

    return SeriesReport.from_geojson({"schema": SERIES_SCHEMA} | doc, source="the test's series")


def write_tif(
    path: Path,
    data: np.ndarray,
    *,
    transform: Affine = TRANSFORM,
    crs: str | None = CRS,
    nodata: float | None = 0,
    tags: dict[str, str] | None = None,
    descriptions: tuple[str, ...] | None = BANDS,
    colorinterp: tuple[str, ...] | None = None,
) -> Path:
    """Write (B, M, N) ``data`` as a GeoTIFF (``colorinterp``: rasterio ``ColorInterp`` names, one a band)."""
    profile: dict[str, Any] = {
        "driver": "GTiff", "width": data.shape[2], "height": data.shape[1], "count": data.shape[0],
        "dtype": data.dtype.name, "transform": transform, "nodata": nodata,
    }
    if crs is not None:
        profile["crs"] = crs
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
        if descriptions:
            for i, d in enumerate(descriptions[: data.shape[0]], start=1):
                dst.set_band_description(i, d)
        if tags:
            dst.update_tags(**tags)
        if colorinterp:
            dst.colorinterp = [ColorInterp[c] for c in colorinterp]
    return path


def ground(shape: tuple[int, int], seed: int) -> np.ndarray:
    """Textured bare ground, (4, M, N) float32."""
    rng = np.random.default_rng(seed)
    tex = ndimage.gaussian_filter(rng.standard_normal(shape), 3)
    tex /= tex.std()
    return SOIL[:, None, None] * (1 + 0.04 * tex)[None].astype("float32")


def add_building(img: np.ndarray, r0: int, c0: int, h: int, w: int, *, shadow: int = 6) -> None:
    """Put a bright roof with a shadow to its north-west into ``img`` (in place)."""
    img[:, r0 - shadow:r0, c0 - shadow:c0 + w - shadow] *= 0.35
    img[:, r0:r0 + h, c0 - shadow:c0] *= 0.35
    img[:, r0:r0 + h, c0:c0 + w] = ROOF[:, None, None]


BUILDINGS = [(40, 40, 20, 40), (40, 130, 24, 30), (120, 40, 20, 44), (120, 140, 20, 36), (200, 90, 24, 40)]
#: A building added in the after image of the ``pair`` fixture: (row, col, height, width) in pixels, 12 m x 20 m.
NEW = (200, 170, 24, 40)


def camp_scene(seed: int, *, buildings: list[tuple[int, int, int, int]], noise_seed: int,
               shape: tuple[int, int] = (256, 240), gain: float = 1.0) -> np.ndarray:
    """A small camp-like scene: ground, buildings with shadows, sensor noise; (4, M, N) uint16."""
    img = ground(shape, seed)
    for b in buildings:
        add_building(img, *b)
    img = img * gain + np.random.default_rng(noise_seed).normal(0, 5, img.shape)
    return np.clip(np.round(img), 1, 65535).astype("uint16")


@pytest.fixture()
def pair(tmp_path: Path):
    """Factory: write a before/after pair of small camp scenes; returns the two paths."""

    def make(before_buildings=BUILDINGS, after_buildings=BUILDINGS, *, gain: float = 1.0,
             dates: tuple[str, str] = ("2020-05-01", "2020-09-01"), **kw: Any) -> tuple[Path, Path]:
        a = camp_scene(7, buildings=list(before_buildings), noise_seed=1)
        b = camp_scene(7, buildings=list(after_buildings), noise_seed=2, gain=gain)
        pa = write_tif(tmp_path / f"scene_{dates[0]}.tif", a, **kw)
        pb = write_tif(tmp_path / f"scene_{dates[1]}.tif", b, **kw)
        return pa, pb

    return make


def aoi_doc(coords: list[list[float]] | None = None, **props: Any) -> dict[str, Any]:
    """An AOI FeatureCollection around the test grid (or the given ring)."""
    if coords is None:
        coords = [[129.8, 41.80], [129.9, 41.80], [129.9, 41.85], [129.8, 41.85], [129.8, 41.80]]
    p = {"role": "aoi", "name": "Test AOI", "source": "tests", "approximate": True}
    p.update(props)
    return {"type": "FeatureCollection",
            "features": [{"type": "Feature", "properties": p, "geometry": {"type": "Polygon", "coordinates": [coords]}}]}


@pytest.fixture()
def aoi_file(tmp_path: Path):
    """Factory: write an AOI document to a file."""

    def make(doc: Any, name: str = "aoi.geojson") -> Path:
        path = tmp_path / name
        path.write_text(doc if isinstance(doc, str) else json.dumps(doc), encoding="utf-8")
        return path

    return make


def grid_aoi_coords() -> list[list[float]]:
    """A lon/lat ring that covers the test grid (256 x 240 px at ORIGIN)."""
    from pyproj import Transformer

    t = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
    x0, y1 = ORIGIN
    x1, y0 = x0 + 240 * 0.5, y1 - 256 * 0.5
    ring = [(x0 - 5, y0 - 5), (x1 + 5, y0 - 5), (x1 + 5, y1 + 5), (x0 - 5, y1 + 5), (x0 - 5, y0 - 5)]
    return [list(t.transform(x, y)) for x, y in ring]


def sample_images(folder: Path, camp: str = "camp22", n: int = 3) -> Path:
    """``folder`` (made if need be) holding copies of the first ``n`` images of a sample camp's series."""
    import shutil

    folder.mkdir(parents=True, exist_ok=True)
    for f in sorted((SAMPLE / camp).glob(f"{camp}_*.tif"))[:n]:
        if not (folder / f.name).exists():
            shutil.copy(f, folder / f.name)
    return folder


def dates_of(paths: list[Path]) -> list[dt.date]:
    return [dt.date.fromisoformat(p.stem[-10:]) for p in paths]


def array_scene(data, valid=None, date=dt.date(2020, 1, 1)):
    """A scene in memory on the test grid: (B, M, N) ``data``, bands blue, green, red, nir in order."""
    data = np.asarray(data, dtype="float32")
    if valid is None:
        valid = np.ones(data.shape[1:], bool)
    return Scene(data=data, valid=valid, transform=TRANSFORM, crs=RioCRS.from_epsg(32652), date=date,
                 band_names=("blue", "green", "red", "nir")[: data.shape[0]])


def fake_info(**kw):
    """The metadata of a 10 x 10 4-band file on the test grid, with ``kw`` replaced."""
    base = dict(path="a.tif", date=dt.date(2020, 1, 1), crs=RioCRS.from_epsg(32652), transform=TRANSFORM,
                width=10, height=10, count=4, dtype="uint16", nodata=0, band_names=("blue", "green", "red", "nir"))
    base.update(kw)
    return SceneInfo(**base)


#: The card of the test models :func:`write_model` makes (a scaled absolute difference: no weights of anyone's).
MODEL_CARD: dict[str, Any] = {
    "name": "test difference", "licence": "CC0 (made by the tests)", "source": "tests/conftest.py",
    "bands": ["red", "green", "blue"], "inputs": ["a", "b"], "output": "p", "covers": "buildings",
    "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25], "tile_multiple": 16, "threshold": 0.5,
    "pixel_size_m": [0.3, 1.0], "tile_px": 64, "overlap_px": 16,
}


def write_model(path: Path, *, gain: float = 8.0, offset: float = 2.0, smooth: bool = False, channels: int = 3,
                card: dict[str, Any] | None = MODEL_CARD, card_in_metadata: bool = False, slow: int = 0) -> Path:
    """Write a tiny bitemporal change model: p = sigmoid(gain * mean|a - b| - offset), optionally after a
    3 x 3 mean (so that tiles have seams to blend); and its card beside it (or in its metadata).

    ``slow``: that many 2,048 x 2,048 matrix products on the way, from a value of the input (so that
    onnxruntime cannot fold them away) and adding nothing (half a second each, or so).
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    shape = [1, channels, "h", "w"]
    nodes = [helper.make_node("Sub", ["a", "b"], ["d"]), helper.make_node("Abs", ["d"], ["ad"]),
             helper.make_node("ReduceMean", ["ad"], ["m"], axes=[1], keepdims=1)]
    last = "m"
    if smooth:
        nodes.append(helper.make_node("AveragePool", ["m"], ["s"], kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                                      count_include_pad=0))
        last = "s"
    nodes += [helper.make_node("Mul", [last, "gain"], ["g"]), helper.make_node("Sub", ["g", "offset"], ["z"])]
    initializer = [helper.make_tensor("gain", TensorProto.FLOAT, [], [gain]),
                   helper.make_tensor("offset", TensorProto.FLOAT, [], [offset])]
    if slow:
        initializer += [numpy_helper.from_array(np.full((2048, 2048), 1e-4, "float32"), "square"),
                        helper.make_tensor("nothing", TensorProto.FLOAT, [], [0.0])]
        nodes += [helper.make_node("ReduceMean", ["a"], ["level"], keepdims=0),
                  helper.make_node("Mul", ["square", "level"], ["x0"])]
        nodes += [helper.make_node("MatMul", [f"x{k}", "square"], [f"x{k + 1}"]) for k in range(slow)]
        nodes += [helper.make_node("ReduceSum", [f"x{slow}"], ["total"], keepdims=0),
                  helper.make_node("Mul", ["total", "nothing"], ["none"]),
                  helper.make_node("Add", ["z", "none"], ["z1"])]
        nodes.append(helper.make_node("Sigmoid", ["z1"], ["p"]))
    else:
        nodes.append(helper.make_node("Sigmoid", ["z"], ["p"]))
    graph = helper.make_graph(
        nodes, "difference",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, shape),
         helper.make_tensor_value_info("b", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("p", TensorProto.FLOAT, [1, 1, "h", "w"])],
        initializer=initializer)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    if card is not None and card_in_metadata:
        helper.set_model_props(model, {"campwatch_card": json.dumps(card)})
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    if card is not None and not card_in_metadata:
        path.with_suffix(".json").write_text(json.dumps(card), encoding="utf-8")
    return path
