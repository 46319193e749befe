"""Check a report against its inputs: re-hash them, re-run the analysis, compare the bytes.

A detect report (``report.geojson``) and a series report (``series.geojson``) record the
SHA-256 of every input and output, every parameter and the software versions. To verify
one is to re-hash the inputs, re-run the same analysis with the recorded parameters into
a temporary folder, and compare every output, the report included, byte for byte with
what was recorded and with the files beside the report. Nothing is written beside the
report and no input is touched.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from campwatch._version import __version__
from campwatch.config import DetectConfig, recorded_model
from campwatch.document import AFTER_REPORT, PAIR_REPORT, SERIES_REPORT, PairReport, SeriesReport, check_schema
from campwatch.errors import CampwatchError, InputError
from campwatch.io.bands import parse_band_names
from campwatch.io.jsonio import read_document, reading_report
from campwatch.io.recorded import recorded_path
from campwatch.io.scene import sha256_file
from campwatch.monitor.series import run_series
from campwatch.progress import start
from campwatch.run import run_detect

__all__ = ["Verification", "verify_report"]


@dataclass
class Verification:
    """The outcome of :func:`verify_report`: one line per input and output checked."""

    report: Path
    kind: str
    #: (what, status, detail); status is "same", "changed", "missing", "different" or "error".
    items: list[tuple[str, str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every input is unchanged and every output was reproduced byte for byte."""
        return bool(self.items) and all(status == "same" for _, status, _ in self.items)

    def problems(self) -> list[tuple[str, str, str]]:
        return [i for i in self.items if i[1] != "same"]


def _load(report_path: Path) -> PairReport | SeriesReport:
    raw = read_document(report_path)
    schema = check_schema(raw, (PairReport.schema, SeriesReport.schema), source=str(report_path))
    assert isinstance(raw, dict)
    for key in ("inputs", "outputs", "parameters", "software"):
        if key not in raw:
            raise InputError(f"{report_path}: the report has no {key!r}; it cannot be verified")
    kind = SeriesReport if schema == SeriesReport.schema else PairReport
    return kind.from_geojson(raw, source=str(report_path))


def verify_report(report_path: str | Path) -> Verification:
    """Verify a detect or series report; see the module's documentation.

    Raises
    ------
    InputError
        If the file is not a campwatch report.
    """
    report_path = Path(report_path)
    doc = _load(report_path)
    with reading_report(report_path):
        return _verify(report_path, doc)


def _verify(report_path: Path, doc: PairReport | SeriesReport) -> Verification:
    record = doc.provenance
    kind = "series" if isinstance(doc, SeriesReport) else "detect"
    result = Verification(report_path, kind)
    recorded = record.software.get("campwatch")
    if recorded != __version__:
        result.notes.append(f"the report was made by campwatch {recorded}, this is {__version__}: "
                            "outputs may differ for that reason alone")

    present = True
    # Hashing a large image takes a while: one step per input, then the re-run reports its own.
    task = start("input", len(record.inputs), "hashing the inputs")
    folder = report_path.parent  # the report's relative paths are from its folder
    for rec in task.each(list(record.inputs), lambda r: f"input {r.role} {Path(r.path).name} hashed"):
        path = recorded_path(rec.path, folder)
        label = f"input {rec.role} {path}"
        if not path.is_file():
            result.items.append((label, "missing", "not found"))
            present = False
            continue
        digest = sha256_file(path)
        if digest == rec.sha256:
            result.items.append((label, "same", digest[:16]))
        else:
            result.items.append((label, "changed", f"sha256 {digest[:16]}..., recorded {rec.sha256[:16]}..."))

    for name, digest in record.outputs.items():
        beside = report_path.parent / name
        if not beside.is_file():
            result.items.append((f"output {name} beside the report", "missing", "not found"))
        elif sha256_file(beside) != digest:
            result.items.append((f"output {name} beside the report", "changed", "differs from its recorded hash"))

    if not present:
        result.notes.append("an input is missing: the analysis was not run again")
        return result
    if any(status != "same" for label, status, _ in result.items if label.startswith("input model")):
        result.notes.append("the change model (or its card) is not the one the report names: the analysis was not "
                            "run again; put the recorded model back to verify")
        return result
    with tempfile.TemporaryDirectory(prefix="campwatch-verify-") as tmp:
        out = Path(tmp) / "out"
        try:
            main = _rerun(doc, out, folder)
        except CampwatchError as exc:
            result.items.append(("re-run", "error", str(exc)))
            return result
        for name, digest in record.outputs.items():
            again = out / name
            if not again.is_file():
                result.items.append((f"output {name}", "missing", "the re-run did not make it"))
                continue
            got = sha256_file(again)
            result.items.append((f"output {name}", "same" if got == digest else "different",
                                 got[:16] if got == digest else f"re-run {got[:16]}..., recorded {digest[:16]}..."))
        same = (out / main).read_bytes() == report_path.read_bytes()
        result.items.append((f"report {main}", "same" if same else "different",
                             "byte for byte" if same else "the re-run's report differs"))
        # Written after the report (so not among its outputs' hashes): compared with the re-run's.
        for name in AFTER_REPORT:
            again, beside = out / name, report_path.parent / name
            if not again.is_file():
                continue
            if not beside.is_file():
                result.items.append((f"output {name} beside the report", "missing", "not found"))
                continue
            same = again.read_bytes() == beside.read_bytes()
            result.items.append((f"output {name}", "same" if same else "different",
                                 "byte for byte" if same else "differs from the re-run's (edited after the run?)"))
    return result



def _rerun(doc: PairReport | SeriesReport, out: Path, folder: Path) -> str:
    record = doc.provenance

    def where(value: str) -> Path:
        return recorded_path(value, folder)

    parameters = dict(record.parameters)
    model = recorded_model(parameters)
    if model is not None and where(model).exists():
        model = str(where(model))  # a model file, recorded from the report's folder
    config = DetectConfig.from_recorded(parameters, source="the report's parameters")

    aoi = next((where(i.path) for i in record.of_role("aoi")), None)
    mask = next((where(i.path) for i in record.of_role("mask")), None)
    if isinstance(doc, SeriesReport):
        if aoi is None:
            raise InputError("the series report names no AOI file")
        scenes = {where(i.scene or i.path) for i in record.of_role("image")}
        folders = {p.parent for p in scenes}
        if len(folders) != 1:
            raise InputError(f"the series report's images are in {len(folders)} folders; expected one")
        run_series(aoi, folders.pop(), out, config=config, figures=doc.figures_dpi is not None,
                   dpi=doc.figures_dpi or 300, mask_path=mask, recorded_as=folder, model=model,
                   only={p.name for p in scenes})  # the images it recorded, not those that came after
        return SERIES_REPORT

    def scene(role: str) -> tuple[Path, dt.date | None, tuple[str | None, ...] | None]:
        recs = record.of_role(role)
        if not recs:
            raise InputError(f"the report names no {role} image")
        given, names = recs[0].date_given, recs[0].bands_given
        return (where(recs[0].scene or recs[0].path), dt.date.fromisoformat(given) if given else None,
                parse_band_names(names, source="the report's bands") if names else None)

    (before, d_b, n_b), (after, d_a, n_a) = scene("before"), scene("after")
    run_detect(before, after, out, aoi_path=aoi, config=config, dates=(d_b, d_a), mask_path=mask, bands=(n_b, n_a),
               recorded_as=folder, model=model)
    return PAIR_REPORT
