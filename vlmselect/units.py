"""Units, defined once. Memory is reported in GiB (what NVML and the runtimes report); published
artifact sizes are in GB (10^9 bytes, as ollama.com and huggingface.co print them)."""

from __future__ import annotations

GIB = 2**30  # bytes in one GiB
MIB = 2**20
GB = 10**9  # bytes in one (decimal) GB
GB_PER_GIB = GIB / GB  # 1 GiB = 1.0737 GB


def gb_to_gib(gb: float) -> float:
    """A size published in GB, in GiB."""
    return gb * GB / GIB


def gib_to_gb(gib: float) -> float:
    return gib * GIB / GB


def bytes_to_gib(n: float) -> float:
    return n / GIB
