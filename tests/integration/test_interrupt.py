"""Ctrl-C while a model runs stops campwatch within a second or two, and leaves nothing (issue 26, 6)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import MODEL_CARD, write_model

#: The longest campwatch may take to stop after Ctrl-C (one inference of the slow model takes 20 s or more).
STOP_WITHIN_S = 3.0


def _as_at_a_terminal() -> None:
    """Ctrl-C as a terminal's foreground process gets it: a pytest-xdist worker ignores SIGINT, and a
    child inherits that (as a job started in the background rightly does)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_during_an_inference_stops_at_once(pair, tmp_path: Path):
    a, b = pair()
    model = write_model(tmp_path / "slow.onnx", slow=300, card=MODEL_CARD | {"tile_px": 256, "overlap_px": 0})
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "campwatch.cli.main", "--progress", "json", "detect", str(a),
                             str(b), "--model", str(model), "--out", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, preexec_fn=_as_at_a_terminal)
    assert proc.stderr is not None
    try:
        for line in proc.stderr:
            if line.startswith("{") and json.loads(line).get("progress", {}).get("what") == "model tile":
                break
        else:
            raise AssertionError(f"the model never ran (exit {proc.wait()})")
        time.sleep(1.0)  # well inside the first tile's inference
        assert proc.poll() is None
        proc.send_signal(signal.SIGINT)
        sent = time.monotonic()
        code = proc.wait(timeout=60)
        took = time.monotonic() - sent
        rest = proc.stderr.read()
    finally:
        proc.kill()
        proc.wait()
    assert code == 130, rest
    assert took < STOP_WITHIN_S, f"{took:.1f} s to stop"
    assert "interrupted; no partial output was kept" in rest
    assert not out.exists() or not any(out.iterdir())
