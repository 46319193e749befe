"""The outputs a refactoring must leave byte for byte the same: run them and list their SHA-256.

Runs, with the ``campwatch`` on PATH (or ``--campwatch``):

- the Camp 25 sample series (``campwatch series aois/camp25.geojson data/sample/camp25``);
- the sample's first pair analysed by blocks (``block_size_px = 256``);
- the Dabancheng frames placed and compared as a series (``frames dabancheng/frames --series``)
  and Joplin's tornado (``detect joplin/pre joplin/post``), when ``--realdata`` is given, and Joplin again
  with a model of buildings when ``--model`` is given too (a card, or an ONNX file with its card
  beside it: ``cards/tinycd_levir.toml`` beside ``../shared/models/tinycd_levir.onnx``);

and writes one line per output file, ``sha256  path``, to ``--manifest``. Two manifests made at
two commits are compared with ``diff``; ``--against OLD`` does that and exits 1 on a difference.

    python benchmarks/same_bytes.py --out /tmp/before --realdata ../shared/realdata
    git switch ...
    python benchmarks/same_bytes.py --out /tmp/after --realdata ../shared/realdata \
        --against /tmp/before/manifest.txt
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample" / "camp25"
BLOCKS_TOML = "[detect]\nblock_size_px = 256\n"


def runs(out: Path, realdata: Path | None, model: Path | None) -> list[tuple[str, list[str]]]:
    """Each run's name and its command line after ``campwatch``."""
    dates = sorted(SAMPLE.glob("camp25_*.tif"))
    config = out / "blocks.toml"
    config.write_text(BLOCKS_TOML)
    todo = [
        ("series", ["series", str(ROOT / "aois" / "camp25.geojson"), str(SAMPLE), "--out", str(out / "series")]),
        ("blocks", ["detect", str(dates[0]), str(dates[1]), "--config", str(config), "--out", str(out / "blocks")]),
    ]
    if realdata is not None:
        joplin = realdata / "joplin"
        todo.append(("dabancheng", ["frames", str(realdata / "dabancheng" / "frames"), "--bounds", "88.2453",
                                    "43.3713", "88.3239", "43.3965", "--hide", "0", "730", "200", "810",
                                    "--series", "--out", str(out / "dabancheng")]))
        pair = ["detect", str(joplin / "pre"), str(joplin / "post"), "--before-date", "2011-05-20",
                "--after-date", "2011-06-01"]
        todo.append(("joplin", [*pair, "--out", str(out / "joplin")]))
        if model is not None:
            todo.append(("joplin-model", [*pair, "--model", str(model), "--out", str(out / "joplin-model")]))
    return todo


def manifest(out: Path, names: list[str]) -> list[str]:
    lines = []
    for name in names:
        for path in sorted(p for p in (out / name).rglob("*") if p.is_file()):
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            lines.append(f"{digest}  {path.relative_to(out)}")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="a folder for the outputs (emptied first)")
    parser.add_argument("--realdata", type=Path, help="../shared/realdata, for Joplin")
    parser.add_argument("--model", type=Path, help="a model of buildings' card, for Joplin with a model")
    parser.add_argument("--campwatch", default=shutil.which("campwatch") or "campwatch")
    parser.add_argument("--against", type=Path, help="a manifest made before: exit 1 when any file differs")
    parser.add_argument("--only", nargs="+", help="run only these (series, blocks, dabancheng, joplin, joplin-model)")
    args = parser.parse_args()
    if args.out.exists():
        shutil.rmtree(args.out)
    args.out.mkdir(parents=True)
    todo = [(name, argv) for name, argv in runs(args.out, args.realdata, args.model)
            if args.only is None or name in args.only]
    for name, argv in todo:
        start = time.perf_counter()
        subprocess.run([args.campwatch, "-q", *argv], check=True)
        print(f"{name}: {time.perf_counter() - start:.1f} s", file=sys.stderr)
    lines = manifest(args.out, [name for name, _ in todo])
    (args.out / "manifest.txt").write_text("\n".join(lines) + "\n")
    print(f"{len(lines)} files; manifest in {args.out / 'manifest.txt'}")
    if args.against is None:
        return 0
    names = {name for name, _ in todo}
    old = {line for line in args.against.read_text().splitlines() if line.split("  ", 1)[1].split("/")[0] in names}
    new = set(lines)
    differ = sorted(old ^ new, key=lambda line: line.split("  ", 1)[1])
    for line in differ:
        print(("- " if line in old else "+ ") + line)
    print("the same bytes" if not differ else f"{len(differ)} lines differ")
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main())
