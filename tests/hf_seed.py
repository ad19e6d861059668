"""Lay files out as huggingface_hub's cache does (models--org--name/{refs,snapshots}), so the real
hf_hub_download / snapshot_download find them with HF_HUB_OFFLINE=1: the download code runs for
real, without a network."""

from __future__ import annotations

import shutil
from pathlib import Path

REVISION = "0123456789abcdef0123456789abcdef01234567"


def seed_hf_cache(hf_home: Path, repo: str, files: dict[str, Path]) -> Path:
    """Copy `files` (name in the repo -> local file) into the cache; returns the snapshot folder."""
    base = Path(hf_home) / "hub" / f"models--{repo.replace('/', '--')}"
    (base / "refs").mkdir(parents=True, exist_ok=True)
    (base / "refs" / "main").write_text(REVISION)
    snap = base / "snapshots" / REVISION
    snap.mkdir(parents=True, exist_ok=True)
    for name, src in files.items():
        dst = snap / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        if Path(src).is_dir():
            shutil.copytree(src, dst, dirs_exist_ok=True)
        else:
            shutil.copyfile(src, dst)
    return snap
