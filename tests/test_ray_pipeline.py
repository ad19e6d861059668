"""The batch script `plan --write-pipeline` writes, run for real on a local Ray cluster with a tiny VLM.

Ray listens on every interface even when told 127.0.0.1, so the cluster (a head and two worker nodes)
runs inside a network namespace that has only `lo` (`unshare -n`, as root). The engine is transformers
on the tiny random LLaVA (vLLM's CPU build is exercised by the real-runtime tests); the script, Ray
Data's actor pool, the atomic per-image results and the resume are the real ones.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

RUN = """
set -e
export RAY_USAGE_STATS_ENABLED=0
trap '{ray} stop --force >/dev/null 2>&1' EXIT
ip link set lo up
{ray} start --head --port=6390 --temp-dir={tmp} --include-dashboard=false --num-cpus=1 \\
    --object-store-memory=100000000 --disable-usage-stats >/dev/null
for i in 1 2; do {ray} start --address=127.0.0.1:6390 --num-cpus=1 --object-store-memory=100000000 >/dev/null; done
{py} -c "import ray; ray.init(address='127.0.0.1:6390', log_to_driver=False); print('NODES', len(ray.nodes()))"
ss -ltn | awk 'NR > 1 {{print "LISTEN", $4}}'
{py} {script} --images {images} --out {out} --address 127.0.0.1:6390 --engine transformers --model {model} \\
    --replicas 2 --batch-size 2 --limit 2
{py} {script} --images {images} --out {out} --address 127.0.0.1:6390 --engine transformers --model {model} \\
    --replicas 2 --batch-size 2
"""


def _can_unshare() -> bool:
    return os.geteuid() == 0 and shutil.which("unshare") is not None and shutil.which("ip") is not None


@pytest.mark.skipif(not _can_unshare(), reason="needs root, unshare and ip to keep Ray inside a loopback-only namespace")
def test_ray_data_pipeline_gives_every_image_one_result_and_resumes(cli, tmp_path):
    from PIL import Image
    from tiny_llava import build_tiny_llava

    ray_bin = Path(sys.executable).with_name("ray")
    assert ray_bin.exists(), "ray is a test dependency: make test installs it"
    model = build_tiny_llava(tmp_path / "tiny")
    images = tmp_path / "images"
    (images / "sub").mkdir(parents=True)
    names = []
    for i in range(6):
        p = images / ("sub" if i % 2 else "") / f"page{i}.png"
        Image.new("RGB", (64, 64), (i * 40, 100, 200)).save(p)
        names.append(str(p.relative_to(images)))
    script = tmp_path / "batch.py"
    r = cli("plan", "--model", "qwen2.5-vl-7b", "--gpu", "h100", "--rate", "1", "--write-pipeline", str(script))
    assert r.code == 0, r.err
    out = tmp_path / "out"
    ray_tmp = Path("/tmp") / f"vr{os.getpid()}"  # short: Ray's socket paths must stay under 107 bytes
    cmd = RUN.format(ray=ray_bin, py=sys.executable, tmp=ray_tmp, script=script, images=images, out=out, model=model)
    env = dict(os.environ)
    try:
        proc = subprocess.run(["unshare", "-n", "bash", "-c", cmd], capture_output=True, text=True, timeout=900, env=env)
    finally:
        shutil.rmtree(ray_tmp, ignore_errors=True)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    assert "NODES 3" in log  # a head and two worker nodes
    listening = [ln.split()[1] for ln in proc.stdout.splitlines() if ln.startswith("LISTEN")]
    assert listening and all(a.startswith(("127.", "[::ffff:127.", "[::1]")) for a in listening), listening
    # First run: two images (--limit 2); the second finds the four left, and only those.
    assert "2 image(s) to do" in proc.stdout and "4 image(s) to do" in proc.stdout
    results = sorted(str(p.relative_to(out))[: -len(".json")] for p in out.rglob("*.json"))
    assert results == sorted(names)  # exactly one result per image
    recs = [json.loads((out / f"{n}.json").read_text()) for n in names]
    assert all(r["image"] == n and isinstance(r["answer"], str) for r, n in zip(recs, names))
    assert not list(out.rglob("*.tmp"))  # atomic writes leave no partial files
