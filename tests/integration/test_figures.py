"""The figure set and report.html: sizes, content where the changes are, a real browser."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import AOIS, SAMPLE, series_doc
from matplotlib.backends.backend_agg import FigureCanvasAgg
from PIL import Image

from campwatch import run as run_module
from campwatch.cli.main import cli
from campwatch.detection.blocks import run as blocks_run
from campwatch.io.aoi import read_aoi
from campwatch.monitor.series import run_series
from campwatch.publish.figures import before_after, change_map, closeups, location_figure, timeline
from campwatch.publish.views import view_from_report, view_from_result
from campwatch.run import detect, run_detect

CAMP22 = sorted((SAMPLE / "camp22").glob("camp22_*.tif"))


@pytest.fixture(scope="module")
def view():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        result = detect(CAMP22[1], CAMP22[2], aoi=read_aoi(AOIS / "camp22.geojson"))
    return view_from_result(result, credit="Imagery (c) test")


def _pixels(fig, dpi: int = 60) -> np.ndarray:
    fig.set_dpi(dpi)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].astype(int)


def _display_xy(ax, x: float, y: float, height: int) -> tuple[int, int]:
    dx, dy = ax.transData.transform((x, y))
    return int(round(height - dy)), int(round(dx))


@pytest.mark.parametrize("draw", [change_map, before_after])
def test_map_figures_draw_each_change_where_it_is(view, draw):
    import dataclasses

    assert len(view.analyst_changes) >= 3
    fig = draw(view)
    bare = draw(dataclasses.replace(view, changes=[]))
    with_changes, without = _pixels(fig), _pixels(bare)
    assert with_changes.shape == without.shape
    diff = np.abs(with_changes - without).sum(axis=2) > 30
    h = with_changes.shape[0]
    axes = [ax for ax in fig.axes if ax.images]
    for change in view.analyst_changes:
        pt = change.geometry.representative_point()
        for ax in axes:
            r, c = _display_xy(ax, pt.x, pt.y, h)
            window = diff[max(0, r - 12):r + 12, max(0, c - 12):c + 12]
            assert window.any(), f"change {change.number} not drawn at ({r}, {c})"
    # The numbers of the changes are written on the map (in both panels of before_after).
    texts = [t.get_text() for ax in axes for t in ax.texts]
    for change in view.analyst_changes:
        assert texts.count(str(change.number)) == len(axes)


def test_change_map_legend_counts_and_credit(view):
    fig = change_map(view)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    n_new = sum(1 for c in view.changes if c.change_class == "structure_new")
    assert f"New structure ({n_new})" in labels
    assert fig.axes[0].get_xlabel().startswith("Imagery (c) test. ")
    assert "2012-10-07 and 2013-06-02" in fig.axes[0].get_title()


def test_closeups_one_pair_of_chips_per_change(view):
    fig = closeups(view)
    chips = [ax for ax in fig.axes if ax.images]
    assert len(chips) == 2 * len(view.analyst_changes)
    labels = [ax.get_ylabel() for ax in chips if ax.get_ylabel()]
    assert len(labels) == len(view.analyst_changes)
    first = min(view.analyst_changes, key=lambda c: c.number)
    assert labels[0].startswith(f"{first.number}. ")
    assert [ax.get_title()[:6] for ax in chips[:2]] == ["before", "after "]
    # Each chip is centred on its change.
    for ax, change in zip(chips[::2], sorted(view.analyst_changes, key=lambda c: c.number), strict=True):
        x0, x1 = ax.get_xlim()
        y0, y1 = ax.get_ylim()
        c = change.geometry.centroid
        assert x0 < c.x < x1 and y0 < c.y < y1


def test_location_figure_has_a_lat_lon_grid_and_the_coordinates(view):
    fig = location_figure(view)
    ax = fig.axes[0]
    assert "42.5380° N, 129.9355° E (approximate)" in ax.get_title()
    xlabels = [t.get_text() for t in ax.get_xticklabels()]
    ylabels = [t.get_text() for t in ax.get_yticklabels()]
    assert xlabels and all(t.endswith("° E") for t in xlabels)
    assert ylabels and all(t.endswith("° N") for t in ylabels)
    # The whole 15 km AOI is in the frame.
    geom = view.aoi.geometry_in(view.after.crs)
    assert ax.get_xlim()[0] < geom.bounds[0] and ax.get_xlim()[1] > geom.bounds[2]
    # The image's footprint is drawn over the AOI, and named; what no image covers is said to be so.
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert f"Image footprint ({view.after.date.isoformat()})" in legend and "No imagery" in legend
    # The inset: the AOI's centre on the countries of its region (Korea's east coast here), in degrees.
    region = fig.axes[1]
    lon, lat = view.aoi.geometry.centroid.x, view.aoi.geometry.centroid.y
    (mx,), (my,) = region.lines[-1].get_xdata(), region.lines[-1].get_ydata()
    assert (mx, my) == pytest.approx((lon, lat))
    assert region.get_xlim() == pytest.approx((lon - 8, lon + 8)) and region.get_ylim() == pytest.approx((lat - 6, lat + 6))
    assert len(region.patches) >= 3  # land of at least three countries (North and South Korea, China, Russia...)
    assert "Natural Earth" in region.get_xlabel()


def test_timeline_panels(tmp_path: Path):
    doc = {
        "aoi": {"name": "X"},
        "images": [{"date": d, "status": s} for d, s in
                   (("2020-01-01", "compared"), ("2020-03-01", "skipped"), ("2020-05-01", "compared"))],
        "pairs": [{"from": "2020-01-01", "to": "2020-05-01",
                   "structures_seen": {"before": {"structure": 4, "tower": 2}, "after": {"structure": 5, "tower": 1}}}],
        "features": [{"properties": {"class": "fence_razed", "length_m": 120.0,
                                     "interval": {"from": "2020-01-01", "to": "2020-05-01"}}},
                     {"properties": {"class": "structure_new", "length_m": None,
                                     "interval": {"from": "2020-01-01", "to": "2020-05-01"}}}],
    }
    fig = timeline(series_doc(doc))
    assert len(fig.axes) == 3
    fence = fig.axes[1].lines[0].get_ydata()
    assert list(fence) == [0.0, 0.0, 120.0]
    assert [t.get_text() for t in fig.axes[0].texts] == ["skipped"]
    assert len(timeline(series_doc(doc | {"pairs": []})).axes) == 2
    # At 8 m fences and towers cannot be seen: no fence panel, no tower line, no legend entry for them.
    coarse = timeline(series_doc(doc | {"classes": {"possible": ["structure_new", "structure_demolished", "structure_modified",
                                                       "other_change"]}}))
    assert len(coarse.axes) == 2
    assert [t.get_text() for t in coarse.axes[1].get_legend().get_texts()] == ["structures seen"]
    legend = [t.get_text() for t in coarse.axes[0].get_legend().get_texts()]
    assert legend == ["New structure", "Demolished structure", "Modified structure"]
    assert len(timeline(series_doc(doc | {"pairs": [], "classes": {"possible": ["other_change"]}})).axes) == 1


@pytest.fixture(scope="module")
def pair_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pair") / "out"
    run_detect(CAMP22[1], CAMP22[2], out, aoi_path=AOIS / "camp22.geojson")
    return out / "report.geojson"


def test_figures_command_remakes_the_set_without_analysing(pair_report: Path, tmp_path: Path, monkeypatch):
    def no_analysis(*args, **kwargs):
        raise AssertionError("figures must not analyse again")

    monkeypatch.setattr(run_module, "analyse_scenes", no_analysis)
    monkeypatch.setattr(blocks_run, "analyse_scenes", no_analysis)
    out = tmp_path / "figs"
    res = CliRunner().invoke(cli, ["figures", str(pair_report), "--out", str(out), "--dpi", "100"])
    assert res.exit_code == 0, res.output
    for stem in ("location", "before_after", "change_overlay", "closeups"):
        png = Image.open(out / "figures" / f"{stem}.png")
        assert png.info["dpi"][0] == pytest.approx(100, abs=1)
        assert png.width > 500
        assert (out / "figures" / f"{stem}.pdf").read_bytes().startswith(b"%PDF")
    assert not (out / "figures" / "timeline.png").exists()  # a pair has no timeline
    html = (out / "report.html").read_text()
    report = json.loads(pair_report.read_text())
    for i in report["inputs"]:
        assert i["sha256"] in html
    # The view made from the report numbers changes as the report does.
    v = view_from_report(pair_report)
    assert sorted(c.number for c in v.changes) == sorted(f["properties"]["id"] for f in report["features"])


@pytest.mark.slow
def test_figures_300_dpi_by_default(pair_report: Path, tmp_path: Path):
    from campwatch.publish.html import write_figures

    write_figures(pair_report, tmp_path / "figs")
    png = Image.open(tmp_path / "figs" / "figures" / "before_after.png")
    assert png.info["dpi"][0] == pytest.approx(300, abs=1)
    assert png.width == pytest.approx(14 * 300, abs=2)


def test_figures_bad_report_exit_2_and_nothing_written(pair_report: Path, tmp_path: Path):
    out = tmp_path / "figs"
    res = CliRunner().invoke(cli, ["figures", str(tmp_path / "none.geojson"), "--out", str(out)])
    assert res.exit_code == 2
    assert "none.geojson: report not found" in res.output
    doc = json.loads(pair_report.read_text())
    gone = tmp_path / "gone_2013-06-02.tif"
    for i in doc["inputs"]:  # moved elsewhere: the paths absolute, as older reports record them
        i["path"] = str((pair_report.parent / i["path"]).resolve())
        if i["role"] == "after":
            i["path"] = str(gone)
    moved = tmp_path / "report.geojson"
    moved.write_text(json.dumps(doc))
    res = CliRunner().invoke(cli, ["figures", str(moved), "--out", str(out)])
    assert res.exit_code == 2
    assert f"{gone}: the report's after image is not there any more" in res.output
    assert not out.exists()


# --------------------------------------------------------------------------- in a browser


#: A real browser for the HTML report: Debian's chromium (``.ci/run`` installs it).
CHROMIUM = shutil.which("chromium")


@pytest.fixture(scope="module")
def series_html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    images = tmp_path_factory.mktemp("images")
    for f in CAMP22:
        shutil.copy(f, images / f.name)
    out = tmp_path_factory.mktemp("series") / "camp22"
    run_series(AOIS / "camp22.geojson", images, out, dpi=150)
    return out / "report.html"


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="no browser: install Debian's chromium (apt-get install chromium) "
                                              "to test report.html in one; .ci/run does")
def test_series_report_html_in_a_browser(series_html: Path, tmp_path: Path):
    from playwright.sync_api import sync_playwright

    assert CHROMIUM is not None
    report = json.loads((series_html.parent / "series.geojson").read_text())
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        requests: list[str] = []
        failed: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.on("requestfailed", lambda r: failed.append(r.url))
        page.goto(series_html.as_uri())
        page.wait_for_load_state("load")
        assert failed == []
        assert requests == [series_html.as_uri()]  # everything is embedded: no other request
        images = page.evaluate("Array.from(document.images).map(i => [i.alt, i.complete, i.naturalWidth])")
        assert [i[0] for i in images] == ["Location", "Before and after", "Changes by class", "Close-ups", "Timeline"]
        assert all(i[1] and i[2] > 500 for i in images)
        for n, img in enumerate(page.query_selector_all("figure img")):
            shot = tmp_path / f"figure{n}.png"
            img.screenshot(path=str(shot))
            pixels = np.asarray(Image.open(shot).convert("L"), dtype=float)
            assert pixels.shape[0] > 200 and pixels.std() > 20, f"figure {n} looks blank"
        text = page.inner_text("body")
        page.screenshot(path=str(tmp_path / "page.png"), full_page=True)
        browser.close()
    assert "Kwan-li-so No. 22 (Hoeryong)" in text
    assert "42.537954° N, 129.935517° E" in text
    for d in ("2012-05-20", "2012-10-07", "2013-06-02", "2014-04-22"):
        assert d in text
    assert "Gazetteer" in text and "Caveats" in text and "Provenance" in text
    analyst = [f for f in report["features"] if f["properties"]["class"] != "other_change"]
    rows = text.split("Gazetteer", 1)[1].split("Coordinates: WGS84", 1)[0].strip().splitlines()
    assert len(rows) == 1 + len(analyst)
    for i in report["inputs"]:
        assert i["sha256"] in text


def test_a_crowded_change_map_leaves_numbers_out_and_says_so(view, monkeypatch):
    from matplotlib.text import Annotation

    import campwatch.publish.figures

    numbers = {str(c.number) for c in view.analyst_changes}
    assert numbers

    def labels(fig):
        return {t.get_text() for t in fig.axes[0].texts if isinstance(t, Annotation)}

    assert numbers <= labels(change_map(view))
    monkeypatch.setattr(campwatch.publish.figures, "MAX_NUMBERED", len(view.analyst_changes) - 1)
    crowded = change_map(view)
    ax = crowded.axes[0]
    assert not numbers & labels(crowded)
    assert "Too many changes to number at this scale: the report lists them." in ax.get_xlabel()


@pytest.mark.parametrize("name", ["Camp $25$ (\\$\\foo{x}$)", "$\\frac{1}{0}$", "Camp 25 $$ credits"])
def test_text_from_inputs_is_drawn_as_it_is_never_as_mathtext(view, name):
    import dataclasses

    from matplotlib.text import Text

    from campwatch.publish.figures import before_after, location_figure, timeline

    hostile = dataclasses.replace(view, name=name, credit=f"Imagery {name}")
    for make in (change_map, before_after, location_figure, closeups):
        fig = make(hostile)
        texts = [t.get_text() for t in fig.findobj(Text)]
        assert any(name in t for t in texts), make.__name__
        _pixels(fig)  # draws without a mathtext error
    doc = {"aoi": {"name": name}, "images": [{"date": "2020-01-01", "status": "compared"},
                                             {"date": "2020-06-01", "status": "compared"}],
           "pairs": [], "features": []}
    _pixels(timeline(series_doc(doc), credit=name))


def _crowded(view, n: int = 120):
    """The view with ``n`` small new structures packed into a corner, some under the scale bar."""
    import dataclasses

    from shapely.geometry import box

    from campwatch.publish.views import MappedChange

    t, (rows, cols) = view.after.transform, view.after.shape
    left, right, bottom, top = t.c, t.c + t.a * cols, t.f + t.e * rows, t.f
    w, h = right - left, top - bottom
    rng = np.random.default_rng(7)
    changes = []
    for i in range(n):
        # three clusters: lower right (under the scale bar), upper left (the north arrow), the middle
        cx, cy = [(right - 0.1 * w, bottom + 0.06 * h), (left + 0.06 * w, top - 0.12 * h),
                  (left + 0.5 * w, bottom + 0.5 * h)][i % 3]
        x, y = cx + rng.normal(0, 0.04 * w), cy + rng.normal(0, 0.04 * h)
        x, y = min(max(x, left + 2), right - 4), min(max(y, bottom + 2), top - 4)
        changes.append(MappedChange(number=i + 1, id=f"C{i + 1:04d}",
                                    change_class=("structure_new", "tower_added", "structure_changed")[i % 3] if i % 5 else
                                    "structure_demolished",
                                    geometry=box(x, y, x + 3, y + 2), area_m2=6.0, length_m=None, confidence=0.9,
                                    interval=(view.before.date.isoformat(), view.after.date.isoformat()),
                                    lonlat=(0.0, 0.0)))
    return dataclasses.replace(view, changes=changes)


@pytest.mark.parametrize("draw", [change_map, before_after])
def test_numbers_never_overlap_and_stay_off_the_scale_bar_north_arrow_and_frame(view, draw):
    from matplotlib.colors import to_rgb
    from matplotlib.text import Annotation
    from matplotlib_scalebar.scalebar import ScaleBar

    crowded = _crowded(view)
    fig = draw(crowded)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    numbers = {str(c.number) for c in crowded.changes}
    shown = 0
    for ax in fig.axes:
        frame = ax.get_window_extent(renderer)
        labels = [t for t in ax.texts if isinstance(t, Annotation) and t.get_text() in numbers]
        boxes = [t.get_bbox_patch().get_window_extent(renderer) for t in labels]
        furniture = [a.info.window_extent for a in ax.artists if isinstance(a, ScaleBar)]
        furniture += [t.get_window_extent(renderer) for t in ax.texts if t.get_text() == "N"]
        assert len(furniture) == 2
        for i, b in enumerate(boxes):
            assert frame.x0 <= b.x0 and b.x1 <= frame.x1 and frame.y0 <= b.y0 and b.y1 <= frame.y1, labels[i]
            assert not any(b.overlaps(f) for f in furniture), labels[i].get_text()
            assert not any(b.overlaps(o) for o in boxes[i + 1:]), labels[i].get_text()
            # Readable on its box: white on a dark class colour, black on a light one (direction unknown).
            box_rgb = np.array(labels[i].get_bbox_patch().get_facecolor()[:3])
            text_rgb = np.array(to_rgb(labels[i].get_color()))
            assert np.abs(box_rgb - text_rgb).max() > 0.5, labels[i].get_text()
        shown += len(labels)
    # Most find a place; those that do not are counted in the footer, not hidden.
    per_panel = shown / (2 if draw is before_after else 1)
    assert per_panel >= 0.6 * len(numbers)
    missing = len(numbers) * (2 if draw is before_after else 1) - shown
    footer = fig.axes[0].get_xlabel()
    if missing:
        assert f"{missing} numbers left out where there was no room: the report lists them." in footer
    else:
        assert "left out" not in footer


def test_numbers_are_placed_the_same_at_every_resolution(view):
    """The layout is fixed before numbers are placed: a PNG at 300 dpi shows them where 60 dpi does."""
    from matplotlib.text import Annotation

    fig = change_map(_crowded(view, 60))
    ax = fig.axes[0]

    def where(dpi):
        fig.set_dpi(dpi)
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        r = canvas.get_renderer()
        w, h = fig.bbox.width, fig.bbox.height
        return sorted((t.get_text(), round(t.get_window_extent(r).x0 / w, 3), round(t.get_window_extent(r).y0 / h, 3))
                      for t in ax.texts if isinstance(t, Annotation) and t.get_text().isdigit())

    assert where(60) == where(300)


def test_timeline_date_labels_never_overlap(tmp_path: Path):
    import datetime as dt

    dates = [(dt.date(2020, 1, 1) + dt.timedelta(days=9 * i)).isoformat() for i in range(60)]
    doc = {"aoi": {"name": "X"}, "images": [{"date": d, "status": "compared"} for d in dates],
           "pairs": [{"from": a, "to": b} for a, b in zip(dates, dates[1:])],
           "features": [{"properties": {"class": "structure_new", "length_m": None,
                                        "interval": {"from": dates[3], "to": dates[4]}}}]}
    fig = timeline(series_doc(doc))
    ax = fig.axes[-1]
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    assert len(ax.get_xticks()) == len(dates)  # every date keeps its tick
    shown = [t for t in ax.get_xticklabels() if t.get_text()]  # the labels shown
    assert shown[0].get_text() == dates[0] and shown[-1].get_text() == dates[-1]
    assert 5 <= len(shown) < len(dates)
    boxes = [t.get_window_extent(renderer) for t in shown]
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
    # A short series shows every date.
    few = timeline(series_doc(doc | {"images": doc["images"][::20], "pairs": []}))
    assert [t.get_text() for t in few.axes[-1].get_xticklabels()] == dates[::20]


def test_every_legend_swatch_shows_on_its_legend(view):
    """A white class (direction unknown) gets a dark swatch or a grey edge, never white on white."""
    from matplotlib.colors import to_rgb

    doc = {"aoi": {"name": "X"}, "images": [{"date": "2020-01-01", "status": "compared"},
                                            {"date": "2020-05-01", "status": "compared"}],
           "pairs": [], "features": [{"properties": {"class": "structure_changed", "length_m": None,
                                                     "interval": {"from": "2020-01-01", "to": "2020-05-01"}}}]}
    tl = timeline(series_doc(doc))
    legends = [change_map(view).legends[0], tl.axes[0].get_legend()]
    for legend in legends:
        ground = np.array(to_rgb(legend.get_frame().get_facecolor()))
        for handle in legend.legend_handles:
            colours = [handle.get_color()] if hasattr(handle, "get_color") and not hasattr(handle, "get_edgecolor") \
                else [handle.get_edgecolor(), handle.get_facecolor()]
            seen = [np.array(to_rgb(c[:3] if not isinstance(c, str) else c)) for c in colours
                    if not (not isinstance(c, str) and len(c) == 4 and c[3] == 0)]
            if handle.get_label().startswith(("Not looked for", "Dashed")):
                continue
            assert any(np.abs(c - ground).max() > 0.3 for c in seen), handle.get_label()
    bars = [p for p in tl.axes[0].patches if np.allclose(to_rgb(p.get_facecolor()[:3]), 1.0)]
    assert bars and all(np.abs(np.array(p.get_edgecolor()[:3]) - 1.0).max() > 0.3 for p in bars)
