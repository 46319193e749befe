"""Re-encoded copies of one image claim no change: the threshold floor on the pixels' own noise (issue #26, 3).

Usage:
    python benchmarks/encoding_noise.py [--realdata ../shared/realdata]

For one image of the bundled sample and, with ``--realdata``, the first Joplin tile and the
earlier images of LEVIR-CD's ``test_7`` and ``test_55`` (those there), makes pairs whose later image holds
the earlier one's own pixels, re-encoded: 8 and 16 bits, JPEG at quality 75 and 50, and 1 %
sensor noise. Analyses each pair with the default parameters and, in the same run, without
the floor (``noise_floor_k = 0``), and prints the thresholds, the floor and the change regions
each finds. Every region found is a false one. The real pairs' scores with and without the
floor are in ``benchmarks/accuracy.py --config`` (a TOML with ``noise_floor_k = 0.0``).
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import datetime as dt
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import rasterio

from campwatch.config import DetectConfig
from campwatch.detection.analysis import analyse_scenes
from campwatch.evaluate import read_pair_scene
from campwatch.io.scene import Scene, read_scene

ROOT = Path(__file__).resolve().parents[1]


def jpeg(data: np.ndarray, quality: int, folder: Path) -> np.ndarray:
    """``data`` (8-bit values) through a JPEG-compressed GeoTIFF and back."""
    u8 = np.clip(np.round(data), 0, 255).astype("uint8")
    path = folder / f"q{quality}.tif"
    with rasterio.open(path, "w", driver="GTiff", width=u8.shape[2], height=u8.shape[1], count=u8.shape[0],
                       dtype="uint8", compress="JPEG", jpeg_quality=quality, photometric="MINISBLACK",
                       interleave="pixel") as ds:
        ds.write(u8)
    with rasterio.open(path) as ds:
        return ds.read().astype("float32")


def images(realdata: Path | None) -> Iterator[tuple[str, Scene, int]]:
    """(name, scene, bits) of each image to re-encode."""
    yield "sample camp25", read_scene(ROOT / "data" / "sample" / "camp25" / "camp25_2015-04-18.tif"), 16
    if realdata is None:
        return
    tiles = sorted((realdata / "joplin" / "pre").glob("*.tif"))
    if tiles:
        yield "joplin", read_scene(tiles[0], date=dt.date(2011, 5, 20)), 8
    for name in ("test_7", "test_55"):
        png = next((realdata / "levir").rglob(f"A/{name}.png"), None)
        if png is not None:
            yield f"levir {name}", read_pair_scene(png, pixel_size=0.5, date=dt.date(2000, 1, 1)), 8


def copies(scene: Scene, bits: int, folder: Path) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """(kind, earlier pixels, later pixels): the same image, re-encoded."""
    d = scene.data
    rng = np.random.default_rng(0)
    if bits == 16:
        eight = np.round(d / 3)
        yield "8 and 16 bits", eight, d
        yield "JPEG q75", eight, jpeg(eight, 75, folder)
        yield "JPEG q50", eight, jpeg(eight, 50, folder)
    else:
        yield "8 and 16 bits", d * 257 + rng.integers(0, 257, d.shape), d
        yield "JPEG q75", d, jpeg(d, 75, folder)
        yield "JPEG q50", d, jpeg(d, 50, folder)
    yield "1 % noise", d, np.round(d * (1 + 0.01 * rng.standard_normal(d.shape)))


def regions(before: Scene, after: Scene, config: DetectConfig) -> tuple[str, str]:
    result = analyse_scenes(before, after, config=config)
    counts = collections.Counter(r.change_class for r in result.regions)
    t = result.thresholds
    return (f"{t.gain:6.2f}/{t.loss:6.2f} floor {t.floor:5.2f}",
            f"{sum(counts.values()):>4} ({', '.join(f'{k} {v}' for k, v in sorted(counts.items())) or 'none'})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--realdata", type=Path, help="folder with joplin/ and levir/ (never copied into the repo)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    print(f"{'image':<16}{'copy':<15}{'thresholds, floor':<30}{'regions':<24}{'without the floor: thresholds':<32}"
          "regions")
    found = found_without = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name, scene, bits in images(args.realdata):
            for kind, a, b in copies(scene, bits, Path(tmp)):
                before = dataclasses.replace(scene, data=a.astype("float32"), date=dt.date(2000, 1, 1))
                after = dataclasses.replace(scene, data=b.astype("float32"), date=dt.date(2000, 6, 1))
                with_floor = regions(before, after, DetectConfig())
                without = regions(before, after, DetectConfig(noise_floor_k=0.0))
                found += int(with_floor[1].split()[0])
                found_without += int(without[1].split()[0])
                print(f"{name:<16}{kind:<15}{with_floor[0]:<30}{with_floor[1]:<24}{without[0]:<32}{without[1]}",
                      flush=True)
    print(f"\nfalse change regions in all: {found} with the floor, {found_without} without; target 0: "
          f"{'MET' if found == 0 else 'NOT MET'}")


if __name__ == "__main__":
    main()
