"""`detect --scheduler`: the blocks of one large pair on a Dask cluster give what local processes give (#27)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_blocks import BASE, CORNER, scene, write_pair

from campwatch.cli.main import cli


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _features(out: Path) -> list:
    doc = json.loads((out / "report.geojson").read_text())
    return [(f["properties"]["class"], f["properties"].get("area_m2"), f["geometry"]) for f in doc["features"]]


@pytest.mark.slow
def test_detect_on_a_dask_cluster_over_tcp_gives_the_local_result(tmp_path: Path):
    new = (CORNER - 20, CORNER - 30, 40, 60)
    before, after = write_pair(tmp_path / "in", scene(BASE, seed_noise=1), scene(BASE + [new], seed_noise=2))
    params = tmp_path / "params.toml"
    params.write_text("block_halo_m = 30\n")
    blocks = ["--block-size", "320", "--config", str(params)]
    local = tmp_path / "local"
    res = CliRunner().invoke(cli, ["detect", str(before), str(after), "--out", str(local), *blocks])
    assert res.exit_code == 0, res.output
    address = f"tcp://127.0.0.1:{_free_port()}"
    procs = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                               "--port", address.rsplit(":", 1)[1], "--dashboard-address", ":0", "--no-show"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        time.sleep(2)
        procs += [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1",
                                    "--host", "127.0.0.1", "--no-dashboard"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(2)]
        from distributed import Client

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
            assert len(client.scheduler_info()["workers"]) == 2
        cluster = tmp_path / "cluster"
        res = CliRunner().invoke(cli, ["detect", str(before), str(after), "--out", str(cluster), *blocks,
                                       "--scheduler", address])
        assert res.exit_code == 0, res.output
        assert "analysed in 4 of 4 blocks of 320 px" in res.output
    finally:
        for proc in procs[::-1]:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)
    assert _features(cluster) == _features(local)
    assert [f[0] for f in _features(cluster)].count("structure_new") == 1
    assert (cluster / "change_mask.tif").read_bytes() == (local / "change_mask.tif").read_bytes()
    # A scheduler that is not there is bad input, and nothing is written.
    gone = tmp_path / "gone"
    res = CliRunner().invoke(cli, ["detect", str(before), str(after), "--out", str(gone), *blocks,
                                   "--scheduler", f"tcp://127.0.0.1:{_free_port()}"])
    assert res.exit_code == 2, res.output
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:" in res.output
    assert not gone.exists()
