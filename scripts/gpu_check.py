"""On a machine with an NVIDIA GPU: compare vlmselect's probe with nvidia-smi, run doctor, and
compare measured VRAM with the estimator on a random-weight model of a real architecture.

    .venv/bin/python scripts/gpu_check.py            # probe + doctor + LLaVA-1.6-7B-shaped model (fp16, nf4)
    .venv/bin/python scripts/gpu_check.py --tiny     # the same flow on a tiny model (works on a CPU)

Prints a report and writes it as JSON to --out (default gpu_check.json). Needs no network: the
model is built from a config with random weights and a small tokenizer (tests/tiny_llava.py).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # tiny_llava: the tokenizer and processor builder


def nvidia_smi() -> list[dict]:
    if not shutil.which("nvidia-smi"):
        return []
    out = subprocess.run(["nvidia-smi", "--query-gpu=index,name,memory.total,memory.used,driver_version",
                          "--format=csv,noheader,nounits"], capture_output=True, text=True, timeout=10).stdout
    rows = []
    for line in out.strip().splitlines():
        i, name, total, used, driver = [c.strip() for c in line.split(",")]
        rows.append({"index": int(i), "name": name, "total_gib": float(total) / 1024, "used_gib": float(used) / 1024,
                     "driver": driver})
    return rows


def check_probe() -> dict:
    from vlmselect.catalog import load_catalog
    from vlmselect.hardware import probe

    cat = load_catalog()
    t = time.perf_counter()
    hw = probe(cat.gpu_by_name)
    took = time.perf_counter() - t
    smi = nvidia_smi()
    pairs = []
    for g, s in zip(hw.gpus, smi):
        pairs.append({"name_probe": g.name, "name_smi": s["name"], "name_match": g.name == s["name"],
                      "total_probe_gib": g.vram_total_gib, "total_smi_gib": s["total_gib"],
                      "total_diff_pct": 100 * abs((g.vram_total_gib or 0) - s["total_gib"]) / s["total_gib"],
                      "free_probe_gib": g.vram_free_gib, "used_smi_gib": s["used_gib"],
                      "driver_probe": hw.driver_version, "driver_smi": s["driver"],
                      "bandwidth_gbps": g.bandwidth_gbps, "bandwidth_derived": g.bandwidth_derived,
                      "compute_capability": g.compute_capability})
    return {"source": hw.source, "probe_s": round(took, 3), "gpus_probe": len(hw.gpus), "gpus_smi": len(smi),
            "pairs": pairs, "notes": list(hw.notes)}


def run_cli(*args: str) -> tuple[int, str, str]:
    r = subprocess.run([sys.executable, "-m", "vlmselect", *args], capture_output=True, text=True, timeout=900,
                       env=dict(os.environ, NO_COLOR="1"))
    return r.returncode, r.stdout, r.stderr


def build_model(path: Path, tiny: bool) -> Path:
    """A LLaVA with LLaVA-1.6-7B's text and vision shapes (Mistral-7B + CLIP ViT-L/14-336), random weights."""
    from tiny_llava import build_tiny_llava

    build_tiny_llava(path)  # processor, tokenizer and a tiny model to start from
    if tiny:
        return path
    import torch
    from transformers import CLIPVisionConfig, LlamaConfig, LlavaConfig, LlavaForConditionalGeneration

    cfg = json.loads((path / "config.json").read_text())
    vocab = cfg["text_config"]["vocab_size"]
    text = LlamaConfig(hidden_size=4096, intermediate_size=14336, num_hidden_layers=32, num_attention_heads=32,
                       num_key_value_heads=8, vocab_size=vocab, max_position_embeddings=32768,
                       bos_token_id=cfg["text_config"].get("bos_token_id"), eos_token_id=cfg["text_config"].get("eos_token_id"))
    vision = CLIPVisionConfig(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24, num_attention_heads=16,
                              image_size=cfg["vision_config"]["image_size"], patch_size=cfg["vision_config"]["patch_size"],
                              projection_dim=768)
    big = LlavaConfig(text_config=text, vision_config=vision, image_token_index=cfg["image_token_index"],
                      image_seq_length=cfg.get("image_seq_length"), vision_feature_layer=-1,
                      vision_feature_select_strategy="default", pad_token_id=cfg.get("pad_token_id"))
    torch.manual_seed(0)
    with torch.device("cuda" if torch.cuda.is_available() else "cpu"):
        torch.set_default_dtype(torch.float16)
        model = LlavaForConditionalGeneration(big)
        torch.set_default_dtype(torch.float32)
    model.save_pretrained(path)
    del model
    torch.cuda.empty_cache() if torch.cuda.is_available() else None
    return path


def check_smoke(model_dir: Path) -> list[dict]:
    out = []
    for quant in ("fp16", "nf4"):
        code, stdout, stderr = run_cli("smoke", str(model_dir), "--runner", "hf", "--quant", quant, "--json",
                                       "--max-new-tokens", "64")
        try:
            rec = json.loads(stdout)
        except ValueError:
            out.append({"quant": quant, "error": stderr[-2000:]})
            continue
        out.append({k: rec.get(k) for k in ("quant", "device", "dtype", "passed", "tokens_per_s", "latency_s", "ttft_s",
                                            "vram_peak_gib", "vram_estimated_gib", "new_tokens")} | {"exit": code})
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tiny", action="store_true", help="use the tiny model (any machine)")
    ap.add_argument("--out", default="gpu_check.json")
    args = ap.parse_args()
    report: dict = {"probe": check_probe()}
    code, stdout, _ = run_cli("doctor", "--json")
    report["doctor"] = {"exit": code, "checks": json.loads(stdout)["checks"] if stdout.strip() else None}
    with tempfile.TemporaryDirectory() as d:
        model = build_model(Path(d) / "llava", args.tiny)
        report["smoke"] = check_smoke(model)
    Path(args.out).write_text(json.dumps(report, indent=2, default=str))
    p = report["probe"]
    print(f"probe: source {p['source']} in {p['probe_s']} s; {p['gpus_probe']} GPU(s) vs {p['gpus_smi']} in nvidia-smi")
    for pair in p["pairs"]:
        print(f"  {pair['name_probe']} vs {pair['name_smi']}: total {pair['total_probe_gib']:.2f} vs "
              f"{pair['total_smi_gib']:.2f} GiB ({pair['total_diff_pct']:.2f} %), driver {pair['driver_probe']} vs {pair['driver_smi']}")
    for c in report["doctor"]["checks"] or []:
        print(f"  doctor {c['name']}: {c['status']} {c['detail']}")
    for s in report["smoke"]:
        if "error" in s:
            print(f"  smoke {s['quant']}: error {s['error'][-300:]}")
            continue
        print(f"  smoke {s['quant']} on {s['device']}: {s['tokens_per_s']} tok/s, measured {s['vram_peak_gib']} GiB "
              f"vs estimated {s['vram_estimated_gib']} GiB, passed={s['passed']} (random weights: expected False)")
    print(f"report written to {args.out}")


if __name__ == "__main__":
    main()
