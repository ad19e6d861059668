"""GPU presets against the vendors' own figures, and the rule that an aggregator-only source is flagged.

Each expected number below is the vendor's printed figure (datasheet, product page, Apple newsroom or tech
specs), written here independently of the catalog; the catalog entry must agree and cite the vendor page.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

GPUS_YAML = Path(__file__).resolve().parents[1] / "catalog" / "gpus.yaml"

# Pages that only re-publish other people's numbers (scrapes, wikis, blogs, resellers, shared code).
AGGREGATOR_HOSTS = ("github.com/voidful", "aiwiki.ai", "ori.bot", "glennklockwood.com", "mullet.se", "manuals.plus",
                    "github.com/VladislavDuma", "github.com/astroC86", "github.com/citsjtu2020", "github.com/sterlenjohnson",
                    "github.com/neobundy", "github.com/ggml-org")
VENDOR_HOSTS = ("nvidia.com", "amd.com", "apple.com")


@pytest.fixture(scope="module")
def raw_gpus() -> dict[str, dict]:
    return {g["id"]: g for g in yaml.safe_load(GPUS_YAML.read_text(encoding="utf-8"))}


def test_t4_matches_nvidias_t4_datasheet(catalog):
    """NVIDIA T4 datasheet (t4-tensor-core-datasheet-951643.pdf): 16 GB GDDR6 at 300 GB/sec and 65 TFLOPS mixed
    precision (FP16/FP32). The earlier 320 GB/s and 64.8 came from a Wikipedia scrape."""
    t4 = catalog.gpus["t4"]
    assert t4.bandwidth_gbps == 300
    assert t4.fp16_tflops == 65
    assert t4.tdp_w == 70
    assert "t4-tensor-core-datasheet" in t4.source


def test_a100_80gb_pcie_board_power_is_the_datasheets(catalog):
    """NVIDIA A100 datasheet: A100 80GB PCIe, 1,935 GB/s, max TDP 300 W (the SXM parts: 400 W)."""
    g = catalog.gpus["a100-pcie-80gb"]
    assert g.tdp_w == 300
    assert g.bandwidth_gbps == 1935
    assert catalog.gpus["a100-80gb"].tdp_w == 400
    assert "nvidia-a100-datasheet" in g.source


def test_b200_memory_is_nvidias_per_gpu_figure(catalog):
    """NVIDIA DGX B200: eight GPUs, 1,440 GB HBM3e in total, 64 TB/s -> 180 GB and 8 TB/s each; nvidia-smi on an
    HGX B200 shows 183,359 MiB (~179 GiB) per GPU. The 192 GB announced for the chip in 2024 overstated what a
    fit can use by 12 GiB."""
    b = catalog.gpus["b200"]
    assert b.vram_gib == 1440 / 8
    assert b.bandwidth_gbps == 64_000 / 8
    assert 183_359 / 1024 <= b.vram_gib < 192
    assert "nvidia.com" in b.source


# Apple's own figures: (largest unified memory in GB, memory bandwidth in GB/s), newsroom or tech-spec pages.
APPLE = {
    "m1-pro": (32, 200), "m1-max": (64, 400), "m1-ultra": (128, 800),
    "m2": (24, 100), "m2-pro": (32, 200), "m2-max": (96, 400), "m2-ultra": (192, 800),
    "m3-pro": (36, 150), "m3-max": (128, 400), "m3-ultra": (512, 819),
    "m4": (32, 120), "m4-pro": (64, 273), "m4-max": (128, 546),
}


@pytest.mark.parametrize("gid", sorted(APPLE))
def test_apple_chips_match_apples_published_figures(catalog, gid):
    mem_gb, bw = APPLE[gid]
    g = catalog.gpus[gid]
    assert g.bandwidth_gbps == bw
    assert g.vram_gib == mem_gb  # Apple's unified-memory "GB" are binary, as the loader reads vram_gb
    assert "apple.com" in g.source


def test_m1_bandwidth_is_flagged_because_apple_never_published_it(raw_gpus):
    m1 = raw_gpus["m1"]
    assert "apple.com" in m1["source"]
    assert any(u.startswith("bandwidth_gbps") for u in m1.get("unverified", []))


def test_every_gpu_cites_its_vendor_or_flags_the_aggregator(raw_gpus):
    """An aggregator may stand as `source` only with an `unverified` entry saying so; a vendor page read in a
    copy names that copy in `read_via`, never as `source`."""
    for gid, g in raw_gpus.items():
        src = g["source"]
        flagged = any("source:" in u for u in g.get("unverified", []))
        if any(h in src for h in AGGREGATOR_HOSTS) or not any(h in src for h in VENDOR_HOSTS):
            assert flagged, gid  # anything but the vendor's own page is said to be so
        else:
            assert not flagged, gid
        if g.get("read_via"):
            assert any(h in src for h in VENDOR_HOSTS), gid
            assert g["read_via"] in g.get("sources", [g["read_via"]]), gid
    vendor = [gid for gid, g in raw_gpus.items() if any(h in g["source"] for h in VENDOR_HOSTS)]
    assert len(vendor) >= 30  # 15 Apple chips, 14 NVIDIA data-center parts, MI300X


def test_rtx_4090_matches_the_ada_whitepaper(catalog, raw_gpus):
    """NVIDIA Ada GPU Architecture whitepaper, Appendix A (RTX 4090): 1008 GB/sec; Peak FP16 Tensor TFLOPS with FP16
    Accumulate 330.3 dense, with FP32 Accumulate 165.2 dense. The scrape's 330 was a rounding."""
    g = catalog.gpus["rtx-4090"]
    assert (g.bandwidth_gbps, g.fp16_tflops) == (1008, 330.3)
    assert raw_gpus["rtx-4090"]["fp16_tflops_fp32acc"] == 165.2
    assert "nvidia-ada-gpu-architecture" in g.source


def test_rtx_5090_fp32_accumulate_rate_is_the_blackwell_whitepapers(raw_gpus):
    """NVIDIA RTX Blackwell whitepaper Table 3: Peak BF16 Tensor TFLOPS with FP32 Accumulate 209.5/419 (dense/sparse),
    half the FP16-accumulate rate as on every GeForce card."""
    g = raw_gpus["rtx-5090"]
    assert g["fp16_tflops_fp32acc"] == 209.5
    assert g["fp16_tflops_fp32acc"] * 2 == g["fp16_tflops"]


def test_l4_matches_nvidias_l4_page(catalog):
    """NVIDIA L4 page: "FP16 Tensor Core 242 teraFLOPS*" (* with sparsity, one-half lower without), "GPU memory
    24GB", "300GB/s", "72W"."""
    g = catalog.gpus["l4"]
    assert (g.vram_gib, g.bandwidth_gbps, g.fp16_tflops, g.tdp_w) == (24, 300, 242 / 2, 72)
    assert g.source == "https://www.nvidia.com/en-us/data-center/l4/"
