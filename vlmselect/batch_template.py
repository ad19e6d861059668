#!/usr/bin/env python3
"""Answer one prompt for every image in a folder with a VLM, on a Ray cluster (written by `vlmselect plan`).

    python THIS.py --images DIR --out DIR [--address auto] [--limit N]

Resumable: each image's answer is written to OUT/<relative path>.json (atomically: a temporary
file, then a rename), and a restart skips every image that already has one, so an interrupted
job loses at most the batches in flight. Each image gets exactly one result file.

Engines: "vllm" (the plan's settings: tensor parallel per replica, one replica per Ray actor) or
"transformers" (AutoModelForImageTextToText; for small models and CPU-only trials).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

CONFIG: dict = {}  # filled in by vlmselect plan

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff"}


def result_path(out: Path, src: Path, image: Path) -> Path:
    return out / (str(image.relative_to(src)) + ".json")


def todo(src: Path, out: Path, limit: int | None) -> list[str]:
    """Images without a result yet, in a stable order."""
    images = sorted(p for p in src.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    left = [str(p) for p in images if not result_path(out, src, p).exists()]
    return left[:limit] if limit else left


def write_atomic(path: Path, record: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(record), encoding="utf-8")
    os.replace(tmp, path)


class Engine:
    """One model replica (a Ray actor): loads the model once, answers batches of image paths."""

    def __init__(self, config: dict[str, Any], src: str, out: str) -> None:
        self.cfg, self.src, self.out = config, Path(src), Path(out)
        if config["engine"] == "vllm":
            from vllm import LLM, SamplingParams

            self.llm = LLM(model=config["model"], tensor_parallel_size=config["gpus_per_replica"],
                           max_model_len=config["max_model_len"], max_num_seqs=config["max_num_seqs"],
                           dtype=config["dtype"], limit_mm_per_prompt={"image": 1},
                           trust_remote_code=config["trust_remote_code"])
            self.params = SamplingParams(max_tokens=config["max_tokens"], temperature=0.0)
        else:
            from transformers import AutoModelForImageTextToText, AutoProcessor

            self.processor = AutoProcessor.from_pretrained(config["model"], trust_remote_code=config["trust_remote_code"])
            self.model = AutoModelForImageTextToText.from_pretrained(config["model"],
                                                                     trust_remote_code=config["trust_remote_code"])

    def _answers(self, paths: list[str]) -> list[str]:
        if self.cfg["engine"] == "vllm":
            chats = []
            for p in paths:
                data = base64.b64encode(Path(p).read_bytes()).decode()
                suffix = Path(p).suffix.lstrip(".").lower().replace("jpg", "jpeg")
                chats.append([{"role": "user", "content": [
                    {"type": "image_url", "image_url": {"url": f"data:image/{suffix};base64,{data}"}},
                    {"type": "text", "text": self.cfg["prompt"]}]}])
            return [o.outputs[0].text for o in self.llm.chat(chats, self.params)]
        from PIL import Image

        out = []
        for p in paths:
            messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": self.cfg["prompt"]}]}]
            try:
                text = self.processor.apply_chat_template(messages, add_generation_prompt=True)
            except (ValueError, AttributeError):
                text = "<image>\n" + self.cfg["prompt"]
            inputs = self.processor(images=Image.open(p).convert("RGB"), text=text, return_tensors="pt")
            ids = self.model.generate(**inputs, max_new_tokens=self.cfg["max_tokens"], do_sample=False)
            new = ids[0][inputs["input_ids"].shape[1]:]
            out.append(self.processor.decode(new, skip_special_tokens=True))
        return out

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[Any]]:
        paths = [str(p) for p in batch["path"]]
        start = time.time()
        answers = self._answers(paths)
        for p, a in zip(paths, answers):
            write_atomic(result_path(self.out, self.src, Path(p)),
                         {"image": str(Path(p).relative_to(self.src)), "answer": a, "model": self.cfg["model"],
                          "pid": os.getpid(), "seconds": round((time.time() - start) / len(paths), 3)})
        return {"path": paths, "done": [True] * len(paths)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", required=True, help="folder of images (searched recursively)")
    ap.add_argument("--out", required=True, help="folder for one JSON result per image")
    ap.add_argument("--address", default=None, help="Ray cluster address (default: start a local one)")
    ap.add_argument("--limit", type=int, default=None, help="at most this many images this run")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--engine", choices=["vllm", "transformers"], default=CONFIG.get("engine", "vllm"))
    ap.add_argument("--model", default=CONFIG.get("model"))
    ap.add_argument("--replicas", type=int, default=CONFIG.get("replicas", 1))
    args = ap.parse_args(argv)
    src, out = Path(args.images).resolve(), Path(args.out).resolve()
    if not src.is_dir():
        print(f"error: {src} is not a folder", file=sys.stderr)
        return 2
    cfg = dict(CONFIG, engine=args.engine, model=args.model)
    left = todo(src, out, args.limit)
    total = len(left)
    print(f"{total} image(s) to do; results in {out}", flush=True)
    if not left:
        return 0

    import ray

    ray.init(address=args.address, log_to_driver=False)
    gpus = cfg.get("gpus_per_replica", 1) if cfg["engine"] == "vllm" else 0
    items = ray.data.from_items([{"path": p} for p in left])
    ds = items.map_batches(Engine, fn_constructor_args=(cfg, str(src), str(out)), batch_size=args.batch_size,
                        concurrency=max(1, min(args.replicas, total)), num_gpus=gpus,
                        num_cpus=1 if not gpus else None)
    done, start = 0, time.time()
    for batch in ds.iter_batches(batch_size=None):
        done += len(batch["path"])
        rate = done / max(time.time() - start, 1e-9)
        print(f"{done}/{total} images, {rate * 3600:.0f}/h", flush=True)
    ray.shutdown()
    return 0 if done == total else 1


if __name__ == "__main__":
    sys.exit(main())
