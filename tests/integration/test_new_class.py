"""Adding a change class: a row in the class table, a finder module and its options section, nothing
else (docs/development.md).

A toy class, ``pond_new`` (water only in the later image), is added the way docs/development.md
says: its row goes into the class table's source, its options section into the sections' source,
its finder is tests/toy/ponds.py. The run happens in a child process (the class table and the
sections are read once, at import), which runs ``campwatch detect`` and ``campwatch verify`` with
them; the outputs are checked here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
from conftest import BUILDINGS, TRANSFORM, camp_scene, write_tif

pytestmark = pytest.mark.slow

TOY = Path(__file__).resolve().parents[1] / "toy" / "ponds.py"
ROW = '''        ChangeClass("pond_new", 10, "#0072B2", "New pond", "Water only in the later image.",
                    "pond", "new pond", "new ponds", max_pixel_m=10.0, appears=True, timeline_rank=8,
                    finder="ponds"),
'''
#: The toy class's options: a section of its own (``[detect.ponds]``, ``config.ponds``).
SECTION = '''

@class_options("ponds")
@dataclass(frozen=True)
class PondOptions(Section):
    """How the finder of new ponds tells water. ``[detect.ponds]``; ``DetectConfig().ponds``.

    Attributes
    ----------
    pond_darker : float
        Water is darker than this share of the earlier date's brightness in every band (default 0.5).
    """

    pond_darker: float = 0.5
'''
#: The child: the sections with the toy's, the class table with the toy row, the toy finder as a
#: finder module, then the CLI.
CHILD = f'''
import importlib.util, sys
spec = importlib.util.find_spec("campwatch.sections")
sections = importlib.util.module_from_spec(spec)
sys.modules["campwatch.sections"] = sections
exec(compile(spec.loader.get_source("campwatch.sections") + {SECTION!r}, spec.origin, "exec"), sections.__dict__)
spec = importlib.util.find_spec("campwatch.classes")
source = spec.loader.get_source("campwatch.classes")
anchor = '        ChangeClass("other_change"'
assert source.count(anchor) == 1
classes = importlib.util.module_from_spec(spec)
sys.modules["campwatch.classes"] = classes
exec(compile(source.replace(anchor, {ROW!r} + anchor), spec.origin, "exec"), classes.__dict__)
finder = importlib.util.spec_from_file_location("campwatch.detection.finders.ponds", {str(TOY)!r})
ponds = importlib.util.module_from_spec(finder)
sys.modules[finder.name] = ponds
finder.loader.exec_module(ponds)
from campwatch.cli.main import main
sys.argv = ["campwatch", *sys.argv[1:]]
main()
'''
#: The pond: rows and columns of the scene, 30 x 30 px at 0.5 m (225 m2), clear of the buildings.
POND = (slice(160, 190), slice(180, 210))


def _campwatch(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", CHILD, *args], capture_output=True, text=True, timeout=300)


def test_a_class_added_as_the_docs_say_is_found_mapped_reported_and_verified(tmp_path: Path):
    before = camp_scene(7, buildings=BUILDINGS, noise_seed=1)
    after = camp_scene(7, buildings=BUILDINGS, noise_seed=2)
    after[(slice(None), *POND)] = (after[(slice(None), *POND)] * 0.2).astype(after.dtype)  # water
    a = write_tif(tmp_path / "scene_2020-05-01.tif", before)
    b = write_tif(tmp_path / "scene_2020-09-01.tif", after)
    out = tmp_path / "out"
    run = _campwatch("detect", str(a), str(b), "--out", str(out))
    assert run.returncode == 0, run.stderr
    assert "New pond" in run.stdout  # the summary table names it

    report = json.loads((out / "report.geojson").read_text())
    ponds = [f["properties"] for f in report["features"] if f["properties"]["class"] == "pond_new"]
    assert len(ponds) == 1
    pond = ponds[0]
    assert pond["area_m2"] == pytest.approx(225, rel=0.05)
    assert pond["cause"] == "dark in every band only later" and pond["score_source"] == "pond"
    assert pond["centroid_xy"] == pytest.approx(TRANSFORM * (195, 175), abs=1.0)  # the pond's centre
    assert pond["interval"] == {"from": "2020-05-01", "to": "2020-09-01"}
    assert report["summary"]["counts"]["pond_new"] == 1
    assert not [f for f in report["features"] if f["properties"]["class"] == "other_change"
                and f["properties"]["area_m2"] > 100]  # the pond is not also other change
    with rasterio.open(out / "change_mask.tif") as src:
        codes = src.read(1)
    assert np.mean(codes[POND] == 10) > 0.95
    assert "New pond" in (out / "change_mask.tif.aux.xml").read_text()  # its name in the legend GDAL reads
    assert "New pond" in (out / "report.qml").read_text()  # and in the QGIS style

    # Its options are recorded with the others, after them, and verify re-runs with them.
    assert list(report["parameters"])[-1] == "pond_darker" and report["parameters"]["pond_darker"] == 0.5
    check = _campwatch("verify", str(out / "report.geojson"))
    assert check.returncode == 0, check.stdout + check.stderr

    # Set in its own table of a config file, the option is what the finder reads: water at a fifth
    # of the brightness is not darker than a tenth of it.
    config = tmp_path / "ponds.toml"
    config.write_text("[detect.ponds]\npond_darker = 0.1\n")
    strict = tmp_path / "strict"
    run = _campwatch("detect", str(a), str(b), "--out", str(strict), "--config", str(config))
    assert run.returncode == 0, run.stderr
    report = json.loads((strict / "report.geojson").read_text())
    assert report["parameters"]["pond_darker"] == 0.1
    assert not [f for f in report["features"] if f["properties"]["class"] == "pond_new"]
    # A value it cannot take is refused, naming it, and nothing is written.
    config.write_text("[detect.ponds]\npond_darker = -1\n")
    run = _campwatch("detect", str(a), str(b), "--out", str(tmp_path / "bad"), "--config", str(config))
    assert run.returncode == 2 and "pond_darker=-1" in run.stderr
    assert not (tmp_path / "bad").exists()
