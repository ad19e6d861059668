"""The hardware probe, with the real nvidia-ml-py bindings over a fake driver library (fake_nvml).

Everything but the last test runs without a GPU: pynvml's own code (init, string buffers,
memory structs, error classes) runs unchanged; only the C library under it is faked.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pynvml
import pytest

import vlmselect.hardware as hw
from fake_nvml import (
    DRIVER_NOT_LOADED, GIB, GPU_IS_LOST, LIB_RM_VERSION_MISMATCH, NO_PERMISSION, NOT_SUPPORTED, UNKNOWN, FakeGpu,
    FakeMig, install, install_missing_library, mib,
)
from vlmselect.catalog import load_catalog
from vlmselect.errors import UsageError
from vlmselect.hardware import build_profile, probe
from vlmselect.hardware.fallbacks import parse_apple_sysctl, parse_nvidia_smi, parse_rocm_smi
from vlmselect.hardware.nvml import probe_nvml, visible_indices
from vlmselect.hardware.types import GpuInfo, HardwareProfile
from vlmselect.placement import usable_vram

DATA = Path(__file__).parent / "data"

UUID0 = "GPU-5c2a7d1e-93b4-6f08-2a1c-0d9e4b7f3a61"
UUID1 = "GPU-a81f0c44-27d9-4b3e-8e15-6c0b92d4f7e8"
DEAD_PID = 4194305  # above the largest pid_max Linux allows: no such process


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(include_user=False)


@pytest.fixture(autouse=True)
def _isolated(request, monkeypatch, tmp_path_factory):
    """No CUDA_VISIBLE_DEVICES from the caller; no real nvidia-smi/rocm-smi found by the fallbacks."""
    if request.node.get_closest_marker("gpu"):
        return
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path_factory.mktemp("empty-path")))


def rtx3090(**kw) -> FakeGpu:
    return FakeGpu(**kw)


def two_gpus() -> list[FakeGpu]:
    """GPU 0 idle; GPU 1 with a process holding 20 GiB (listed as compute and graphics)."""
    return [
        FakeGpu(uuid=UUID0, used=mib(260), reserved=mib(346)),
        FakeGpu(uuid=UUID1, used=20 * GIB + mib(300), reserved=mib(346),
                processes=[(os.getpid(), 20 * GIB), (DEAD_PID, None)],
                graphics_processes=[(os.getpid(), 20 * GIB)]),
    ]


# 1. one RTX 3090 ---------------------------------------------------------------------------------

def test_one_rtx_3090(monkeypatch, catalog):
    lib = install(monkeypatch, [rtx3090(used=mib(1500), reserved=mib(346))])
    prof = probe(catalog.gpu_by_name)

    assert prof.source == "nvml"
    assert prof.driver_version == "550.54.14"
    assert prof.cuda_driver_version == "12.4"  # 12040
    (g,) = prof.gpus
    assert g.name == "NVIDIA GeForce RTX 3090"
    assert g.uuid == UUID0
    assert g.vram_total_gib == 24.0  # 24576 MiB
    assert g.vram_free_gib == pytest.approx((24576 - 346 - 1500) / 1024)
    assert g.vram_used_gib == pytest.approx(1500 / 1024)  # v2: reserved memory is not "used"
    assert g.bandwidth_gbps == 935.8 and g.bandwidth_derived is False  # the preset, not bus x clock
    assert g.fp16_tflops == catalog.gpu("rtx-3090").fp16_tflops
    assert g.compute_capability == "8.6" and g.bf16 is True
    assert g.status == "ok" and g.processes == ()
    assert prof.usable_gpus == [g]
    assert prof.notes == ()
    # v2 memory info was asked for (and answered); NVML was shut down again.
    assert lib.called("nvmlDeviceGetMemoryInfo_v2") == 1 and lib.called("nvmlDeviceGetMemoryInfo") == 0
    assert lib.initialized == 0 and lib.called("nvmlShutdown") == 1
    assert prof.to_json()["gpus"][0]["vram_total_gib"] == 24.0


def test_cuda_version_falls_back_to_v1_call(monkeypatch):
    install(monkeypatch, [rtx3090()], cuda_version=11080, missing={"nvmlSystemGetCudaDriverVersion_v2"})
    gpus, system = probe_nvml()
    assert system["cuda_driver_version"] == "11.8"
    assert gpus[0].bandwidth_gbps is not None  # no lookup: derived from bus x clock


# 2. two GPUs, one busy ---------------------------------------------------------------------------

def test_two_gpus_one_busy(monkeypatch, catalog):
    install(monkeypatch, two_gpus())
    prof = probe(catalog.gpu_by_name)

    g0, g1 = prof.gpus
    assert (g0.index, g1.index) == (0, 1)
    assert g0.vram_free_gib == pytest.approx((24576 - 346 - 260) / 1024)
    assert g1.vram_free_gib == pytest.approx((24576 - 346 - 20 * 1024 - 300) / 1024)
    assert g0.vram_free_gib - g1.vram_free_gib == pytest.approx(20 + 40 / 1024)
    assert g0.processes == ()
    # The pid listed as compute and graphics appears once; a pid with no usage (WDDM) -> None.
    assert [(p.pid, p.used_gib) for p in g1.processes] == [(os.getpid(), 20.0), (DEAD_PID, None)]
    assert g1.processes[0].name not in ("", "?")  # our own process: psutil names it
    assert g1.processes[1].name == "?"  # gone, or in another PID namespace
    # Recommendations size models against free memory, not the card's total.
    assert usable_vram(g0) == g0.vram_free_gib
    assert usable_vram(g1) == g1.vram_free_gib
    assert usable_vram(g1) < 4.0 < g1.vram_total_gib


# 3. CUDA_VISIBLE_DEVICES -------------------------------------------------------------------------

@pytest.mark.parametrize("env, expect", [
    ("1", [UUID1]),
    (UUID1, [UUID1]),
    (UUID1[:8], [UUID1]),  # a unique prefix: "GPU-a81f"
    ("1,0", [UUID1, UUID0]),  # CUDA's order
    ("0,7,1", [UUID0]),  # an invalid entry ends the list
    ("", []),
])
def test_cuda_visible_devices(monkeypatch, env, expect):
    install(monkeypatch, two_gpus())
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", env)
    gpus, _ = probe_nvml()
    assert [g.uuid for g in gpus] == expect
    # The NVML index is kept (nvidia-smi's numbering), whatever CUDA would call it.
    assert [g.index for g in gpus] == [[UUID0, UUID1].index(u) for u in expect]


def test_cuda_visible_devices_empty_is_a_note(monkeypatch, catalog):
    install(monkeypatch, two_gpus())
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    prof = probe(catalog.gpu_by_name)
    assert prof.source == "nvml" and prof.gpus == ()
    assert any("CUDA_VISIBLE_DEVICES" in n for n in prof.notes)


def test_visible_indices():
    uuids = [UUID0, UUID1, "GPU-a81f9999-0000-0000-0000-000000000000"]
    assert visible_indices(3, uuids, None) == [0, 1, 2]
    assert visible_indices(3, uuids, "") == []
    assert visible_indices(3, uuids, "2,0") == [2, 0]
    assert visible_indices(3, uuids, " 1 , 2 ") == [1, 2]
    assert visible_indices(3, uuids, "0,3,1") == [0]  # out of range ends the list
    assert visible_indices(3, uuids, "-1,0") == []
    assert visible_indices(3, uuids, "0,0") == [0]  # a repeat ends the list
    assert visible_indices(3, uuids, "1,,2") == [1]  # an empty entry ends the list
    assert visible_indices(3, uuids, "GPU-5c2a") == [0]
    assert visible_indices(3, uuids, "GPU-a81f") == []  # ambiguous prefix
    assert visible_indices(3, uuids, "GPU-a81f0c44,0") == [1, 0]
    assert visible_indices(3, uuids, "GPU-ffff") == []
    assert visible_indices(3, uuids, f"MIG-{UUID0}/1/0") == [0]  # old MIG syntax -> parent GPU
    assert visible_indices(2, [None, UUID1], "GPU-a81f") == [1]  # an unreadable UUID never matches
    assert visible_indices(0, [], "0") == []


# 4. old driver: no v2 memory info ----------------------------------------------------------------

def test_driver_without_v2_memory_info(monkeypatch, catalog):
    lib = install(monkeypatch, [rtx3090(used=mib(1500), reserved=mib(346))],
                  missing={"nvmlDeviceGetMemoryInfo_v2"})
    (g,) = probe(catalog.gpu_by_name).gpus
    assert lib.called("nvmlDeviceGetMemoryInfo") == 1  # the v1 struct was read
    assert g.vram_total_gib == 24.0
    assert g.vram_free_gib == pytest.approx((24576 - 346 - 1500) / 1024)
    assert g.vram_used_gib == pytest.approx((1500 + 346) / 1024)  # v1 counts reserved as used
    assert g.status == "ok"


def test_driver_without_v3_process_calls(monkeypatch):
    """Processes by a driver older than the v3 calls: pynvml raises NVMLLibraryMismatchError."""
    install(monkeypatch, two_gpus(), missing={"nvmlDeviceGetComputeRunningProcesses_v3",
                                              "nvmlDeviceGetGraphicsRunningProcesses_v3"})
    g0, g1 = probe_nvml()[0]
    assert g1.processes == () and g1.status == "ok"
    assert g1.vram_free_gib == pytest.approx((24576 - 346 - 20 * 1024 - 300) / 1024)


# 5. bandwidth for a card without a preset --------------------------------------------------------

def test_unknown_gpu_without_bus_or_clock(monkeypatch, catalog):
    install(monkeypatch, [FakeGpu(name="NVIDIA Mystery GPU", cc=(9, 0), bus_width=None, mem_clock_mhz=None,
                                  errors={"nvmlDeviceGetMemoryBusWidth": NOT_SUPPORTED})])
    (g,) = probe(catalog.gpu_by_name).gpus
    assert g.name == "NVIDIA Mystery GPU"
    assert g.bandwidth_gbps is None and g.bandwidth_derived is False
    assert g.fp16_tflops is None
    assert g.compute_capability == "9.0" and g.bf16 is True
    assert g.vram_total_gib == 24.0 and g.status == "ok"


def test_unknown_gpu_bandwidth_from_bus_and_clock(monkeypatch, catalog):
    install(monkeypatch, [FakeGpu(name="NVIDIA Mystery GPU", cc=(7, 5), bus_width=384, mem_clock_mhz=9751)])
    (g,) = probe(catalog.gpu_by_name).gpus
    # What NVML reports for an RTX 3090 (memory clock 9751 MHz, 384-bit bus); NVIDIA's spec sheet (GA102
    # whitepaper) gives that card 936 GB/s.
    assert g.bandwidth_gbps == pytest.approx(936, rel=0.001)
    assert g.bandwidth_derived is True
    assert g.bf16 is False  # CC 7.5


def test_not_supported_fields_are_unknown_not_errors(monkeypatch):
    """Name, UUID, memory and CC NotSupported: unknown fields, no crash, not 'lost'."""
    errors = {f: NOT_SUPPORTED for f in ("nvmlDeviceGetName", "nvmlDeviceGetUUID", "nvmlDeviceGetMemoryInfo",
                                         "nvmlDeviceGetMemoryInfo_v2", "nvmlDeviceGetCudaComputeCapability")}
    install(monkeypatch, [FakeGpu(errors=errors)])
    (g,) = probe_nvml()[0]
    assert g.name == "unknown NVIDIA GPU" and g.uuid is None
    assert g.vram_total_gib is None and g.compute_capability is None and g.bf16 is None
    assert g.status == "ok" and not g.usable


# 6. no NVML library ------------------------------------------------------------------------------

def test_library_not_found(monkeypatch, catalog):
    install_missing_library(monkeypatch)
    prof = probe(catalog.gpu_by_name)
    assert prof.source == "none" and prof.gpus == ()
    assert any("libnvidia-ml" in n for n in prof.notes)
    assert "no GPU found: CPU-only estimates" in prof.notes
    assert prof.ram_total_gib and prof.ram_total_gib > 0  # the rest of the machine is still read


def test_library_not_found_on_this_machine_as_it_is(monkeypatch, catalog):
    """Untouched pynvml, where the machine really has no libnvidia-ml (skipped where it has one)."""
    if pynvml.nvmlLib is not None or _real_nvml_works():
        pytest.skip("this machine has an NVML library")
    prof = probe(catalog.gpu_by_name)
    assert prof.source == "none"
    assert any("libnvidia-ml" in n for n in prof.notes)


# 7. driver not loaded / no permission ------------------------------------------------------------

@pytest.mark.parametrize("code, words", [(DRIVER_NOT_LOADED, "driver not loaded"),
                                         (NO_PERMISSION, "no permission"),
                                         (LIB_RM_VERSION_MISMATCH, "version mismatch")])
def test_init_fails(monkeypatch, catalog, code, words):
    lib = install(monkeypatch, [rtx3090()], init_error=code)
    prof = probe(catalog.gpu_by_name)
    assert prof.source == "none" and prof.gpus == ()
    assert any(words in n for n in prof.notes), prof.notes
    assert lib.calls == ["nvmlInitWithFlags"]  # nothing else asked of a driver that did not start


def test_driver_library_mismatch_says_reboot(monkeypatch, catalog):
    install(monkeypatch, [rtx3090()], init_error=LIB_RM_VERSION_MISMATCH)
    prof = probe(catalog.gpu_by_name)
    note = next(n for n in prof.notes if "mismatch" in n)
    assert "reboot" in note and "NVML error" not in note


# 7b. MIG devices ---------------------------------------------------------------------------------

MIG_UUID = "MIG-1d0c9a3e-5f4b-5a21-9c7e-2b8f0e6d4a13"


def a100_with_migs() -> FakeGpu:
    """An A100 80GB in MIG mode with a 1g.10gb and a 3g.40gb slice (NVML reports MIG memory per slice)."""
    return FakeGpu(name="NVIDIA A100-SXM4-80GB", uuid=UUID0, total=mib(81920), cc=(8, 0), mig_mode=1, migs=[
        FakeMig(name="NVIDIA A100-SXM4-80GB MIG 1g.10gb", uuid=MIG_UUID, total=mib(9984), reserved=0, used=mib(13),
                gi=9, ci=0),
        FakeMig(name="NVIDIA A100-SXM4-80GB MIG 3g.40gb", uuid="MIG-7e2f4c81-0b3a-5d6e-8f19-3c4d5e6f7a8b",
                total=mib(40192), reserved=0, used=mib(37), gi=2, ci=0),
    ])


@pytest.mark.parametrize("env, name, total_mib", [
    (MIG_UUID, "MIG 1g.10gb", 9984),  # driver R470+: the MIG device's own UUID
    (MIG_UUID[:12], "MIG 1g.10gb", 9984),  # a unique prefix, as CUDA allows
    (f"MIG-{UUID0}/2/0", "MIG 3g.40gb", 40192),  # the older MIG-GPU-<uuid>/<gi>/<ci> form
])
def test_cuda_visible_devices_names_a_mig_device(monkeypatch, catalog, env, name, total_mib):
    install(monkeypatch, [a100_with_migs(), FakeGpu(uuid=UUID1)])
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", env)
    prof = probe(catalog.gpu_by_name)
    assert len(prof.gpus) == 1
    g = prof.gpus[0]
    assert name in g.name and g.vram_total_gib == pytest.approx(total_mib / 1024)  # the slice, not the 80 GB card
    assert g.compute_capability == "8.0" and g.bandwidth_gbps is None  # a slice's share is not reported


def test_unknown_mig_device_matches_nothing(monkeypatch, catalog):
    install(monkeypatch, [a100_with_migs()])
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "MIG-ffffffff-0000-0000-0000-000000000000")
    prof = probe(catalog.gpu_by_name)
    assert prof.gpus == () and any("CUDA_VISIBLE_DEVICES" in n for n in prof.notes)


# 8. a lost GPU -----------------------------------------------------------------------------------

def test_gpu_lost_while_reading(monkeypatch, catalog):
    gpus = two_gpus()
    gpus[0].errors = {"nvmlDeviceGetMemoryInfo_v2": GPU_IS_LOST, "nvmlDeviceGetMemoryInfo": GPU_IS_LOST}
    install(monkeypatch, gpus)
    prof = probe(catalog.gpu_by_name)

    g0, g1 = prof.gpus
    assert g0.status == "lost" and g0.index == 0 and "lost" in g0.detail
    assert g0.vram_total_gib is None
    assert g1.status == "ok" and g1.name == "NVIDIA GeForce RTX 3090" and g1.uuid == UUID1
    assert g1.vram_total_gib == 24.0 and g1.bandwidth_gbps == 935.8 and len(g1.processes) == 2
    assert prof.usable_gpus == [g1]
    assert any("1 GPU(s) could not be read" in n for n in prof.notes)


def test_gpu_lost_entirely(monkeypatch, catalog):
    """A GPU off the bus fails every call, nvmlDeviceGetHandleByIndex included."""
    gpus = two_gpus()
    gpus[0].lost = True
    install(monkeypatch, gpus)
    prof = probe(catalog.gpu_by_name)
    g0, g1 = prof.gpus
    assert g0.status == "lost" and "lost" in g0.detail
    assert g1.status == "ok" and g1.uuid == UUID1
    assert [g.index for g in prof.usable_gpus] == [1]
    # CUDA_VISIBLE_DEVICES by UUID still finds GPU 1 (the lost GPU has no UUID to match).
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", UUID1[:8])
    assert [g.uuid for g in probe_nvml()[0]] == [UUID1]


@pytest.mark.parametrize("fn, code, status", [
    ("nvmlDeviceGetUUID", GPU_IS_LOST, "lost"),  # lost between the handle and the UUID
    ("nvmlDeviceGetName", GPU_IS_LOST, "lost"),
    ("nvmlDeviceGetHandleByIndex_v2", NO_PERMISSION, "error"),  # not lost: could not be opened
    ("nvmlDeviceGetHandleByIndex_v2", UNKNOWN, "error"),
])
def test_one_gpu_unreadable_the_other_counts(monkeypatch, fn, code, status):
    gpus = two_gpus()
    gpus[0].errors = {fn: code}
    install(monkeypatch, gpus)
    g0, g1 = probe_nvml()[0]
    assert g0.status == status and not g0.usable and g0.detail
    assert g1.status == "ok" and g1.uuid == UUID1 and g1.vram_total_gib == 24.0


# 9. fallback parsers on recorded outputs ---------------------------------------------------------

def test_parse_nvidia_smi():
    gpus, driver = parse_nvidia_smi((DATA / "nvidia_smi_2gpu.csv").read_text())
    assert driver == "550.54.14"
    a, b = gpus
    assert (a.index, a.name, a.uuid) == (0, "NVIDIA GeForce RTX 3090", UUID0)
    assert a.vram_total_gib == 24.0
    assert a.vram_free_gib == pytest.approx(22730 / 1024) and a.vram_used_gib == pytest.approx(1500 / 1024)
    assert a.compute_capability == "8.6" and a.bf16 is True
    assert (b.index, b.name) == (1, "Tesla V100-PCIE-16GB")
    assert b.vram_total_gib == 16.0
    assert b.vram_free_gib is None and b.vram_used_gib is None  # "[N/A]"
    assert b.compute_capability is None and b.bf16 is None
    assert parse_nvidia_smi("") == ([], None)
    assert parse_nvidia_smi("No devices were found\n") == ([], None)


def test_parse_rocm_smi_mi300x():
    a, b = parse_rocm_smi((DATA / "rocm_smi_mi300x.json").read_text())
    assert (a.index, a.name, a.vendor) == (0, "AMD Instinct MI300X", "amd")
    assert a.vram_total_gib == pytest.approx(205822885888 / GIB)
    assert a.vram_used_gib == pytest.approx(294912000 / GIB)
    assert a.vram_free_gib == pytest.approx((205822885888 - 294912000) / GIB)
    assert b.index == 1 and b.vram_free_gib == pytest.approx((205822885888 - 107669356544) / GIB)


def test_parse_rocm_smi_consumer_cards():
    a, b, c = parse_rocm_smi((DATA / "rocm_smi_rdna.json").read_text())
    assert a.name == "Navi 31 [Radeon RX 7900 XT/7900 XTX]"  # older rocm-smi: "Card series"
    assert a.vram_total_gib == pytest.approx(25753026560 / GIB)
    assert b.name != "N/A"  # newer rocm-smi prints "Card Series": "N/A" for some cards
    assert b.name == "APM107573"
    assert c.name == "PHXGENERIC" and c.vram_total_gib == 4.0  # an APU: no series at all
    assert parse_rocm_smi('{"system": {"Driver version": "6.8.5"}}') == []


def test_parse_apple_sysctl():
    g = parse_apple_sysctl("34359738368\n", "Apple M2 Pro\n", None)  # 32 GiB, no wired limit set
    assert g.name == "Apple M2 Pro" and g.vendor == "apple" and g.unified_memory and g.bf16
    assert g.vram_total_gib == 24.0  # 75 % of 32 GiB
    assert "75%" in g.detail
    g = parse_apple_sysctl("34359738368\n", "Apple M2 Pro\n", "28672\n")  # sudo sysctl iogpu.wired_limit_mb=28672
    assert g.vram_total_gib == 28.0 and "iogpu.wired_limit_mb" in g.detail
    assert parse_apple_sysctl("34359738368", "Apple M2 Pro", "0").vram_total_gib == 24.0  # 0 = default


# 10. a hanging fallback tool ---------------------------------------------------------------------

def test_probe_survives_a_hanging_nvidia_smi(monkeypatch, tmp_path, catalog):
    install_missing_library(monkeypatch)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    started = tmp_path / "started"
    tool = bindir / "nvidia-smi"
    tool.write_text(f"#!{sys.executable}\nimport pathlib, time\npathlib.Path({str(started)!r}).touch()\ntime.sleep(10)\n")
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    assert shutil.which("nvidia-smi") == str(tool)

    t0 = time.perf_counter()
    prof = probe(catalog.gpu_by_name)
    elapsed = time.perf_counter() - t0
    assert started.exists()  # the hanging tool really was run
    assert elapsed < 2.5
    assert hw.TOOL_TIMEOUT_S <= elapsed  # ... and waited for until its timeout
    assert prof.source == "none" and prof.gpus == ()
    assert prof.probe_s is not None and prof.probe_s < 2.5


def test_nvidia_smi_fallback_when_nvml_cannot_start(monkeypatch, tmp_path, catalog):
    """Driver trouble in NVML but nvidia-smi answers: its GPUs, with the preset's bandwidth."""
    install(monkeypatch, [], init_error=NO_PERMISSION)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    tool = bindir / "nvidia-smi"
    tool.write_text(f"#!{sys.executable}\nimport sys\nsys.stdout.write(open({str(DATA / 'nvidia_smi_2gpu.csv')!r}).read())\n")
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", str(bindir))
    prof = probe(catalog.gpu_by_name)
    assert prof.source == "nvidia-smi" and prof.driver_version == "550.54.14"
    assert [g.bandwidth_gbps for g in prof.gpus] == [935.8, catalog.gpu("v100-pcie-16gb").bandwidth_gbps]


# 11. build_profile -------------------------------------------------------------------------------

def _fixed_probe():
    return HardwareProfile(source="none", ram_total_gib=64.0, ram_available_gib=50.0, cpu_name="Test CPU",
                           cpu_cores=8, disk_free_gib={"ollama": 100.0})


def _fixed_system():
    p = _fixed_probe()
    return {"ram_total_gib": p.ram_total_gib, "ram_available_gib": p.ram_available_gib, "cpu_name": p.cpu_name,
            "cpu_cores": p.cpu_cores, "disk_free_gib": p.disk_free_gib}


def _no_probe():
    raise AssertionError("probe() should not run")


@pytest.mark.parametrize("typed", ["3090", "rtx 3090", "RTX 3090", "rtx-3090", "NVIDIA GeForce RTX 3090"])
def test_build_profile_preset(catalog, typed):
    prof = build_profile(catalog, gpu=typed, probe_fn=_no_probe, system_fn=_fixed_system)
    assert prof.source == "preset"
    (g,) = prof.gpus
    assert g.name == "NVIDIA GeForce RTX 3090"
    assert g.vram_total_gib == 24.0 and g.vram_free_gib is None
    assert g.bandwidth_gbps == 935.8 and g.compute_capability == "8.6" and g.bf16 is True
    # CPU and disk from this machine; RAM never from it (this machine's 64 GiB): the stated default, said so.
    assert prof.cpu_name == "Test CPU"
    assert prof.ram_total_gib == 48.0 and any("RAM assumed 48 GiB" in n and "--ram" in n for n in prof.notes)


def test_build_profile_preset_options(catalog):
    prof = build_profile(catalog, gpu="3090", gpu_count=2, ram=32, probe_fn=_no_probe)
    assert [g.index for g in prof.gpus] == [0, 1]
    assert all(g.name == "NVIDIA GeForce RTX 3090" and g.vram_total_gib == 24.0 for g in prof.gpus)
    assert prof.ram_total_gib == 32.0 and prof.ram_available_gib == 32.0
    prof = build_profile(catalog, gpu="3090", vram=20, ram=32, probe_fn=_no_probe)
    assert prof.gpus[0].vram_total_gib == 20.0 and prof.source == "preset"


def test_build_profile_unknown_gpu(catalog):
    with pytest.raises(UsageError) as err:
        build_profile(catalog, gpu="rtx 3099", ram=16, probe_fn=_no_probe)
    assert "rtx 3099" in err.value.message
    assert "rtx-3090" in err.value.hint and err.value.hint.startswith("did you mean")
    assert err.value.exit_code == 2


@pytest.mark.parametrize("kw", [{"vram": -3}, {"vram": 0}, {"ram": 0}, {"gpu_count": 0},
                                {"vram": float("inf")}, {"vram": float("nan")}, {"ram": float("inf")},
                                {"gpu": "3090", "gpu_count": -1}, {"cpu_only": True, "vram": 24},
                                {"cpu_only": True, "gpu": "3090"}])
def test_build_profile_bad_input(catalog, kw):
    with pytest.raises(UsageError):
        build_profile(catalog, probe_fn=_no_probe, **kw)


def test_build_profile_cpu_only_and_manual(catalog):
    prof = build_profile(catalog, cpu_only=True, probe_fn=_no_probe, system_fn=_fixed_system)
    assert prof.source == "manual" and prof.gpus == () and prof.ram_total_gib == 64.0
    prof = build_profile(catalog, vram=48, probe_fn=_no_probe, system_fn=_fixed_system)
    assert prof.source == "manual"
    (g,) = prof.gpus
    assert g.vram_total_gib == 48.0 and g.name == "GPU with 48 GB" and g.usable
    prof = build_profile(catalog, vram=48, gpu_count=2, ram=16, probe_fn=_no_probe)
    assert len(prof.gpus) == 2 and prof.ram_total_gib == 16.0


def test_build_profile_probed_plus_planned_card(catalog):
    probed = _fixed_probe().with_(source="nvml", gpus=(GpuInfo(
        index=0, name="NVIDIA GeForce RTX 3090", uuid=UUID0, vram_total_gib=24.0, vram_free_gib=3.5,
        vram_used_gib=20.0, bandwidth_gbps=935.8),))
    prof = build_profile(catalog, gpu_count=2, probe_fn=lambda: probed)
    g0, g1 = prof.gpus
    assert g0 is probed.gpus[0]
    assert (g1.index, g1.uuid, g1.vram_free_gib, g1.vram_total_gib) == (1, None, 24.0, 24.0)
    assert prof.source == "nvml" and any("planning 2 x" in n for n in prof.notes)


def test_build_profile_probes_through_fake_nvml(monkeypatch, catalog):
    install(monkeypatch, two_gpus())
    prof = build_profile(catalog)
    assert prof.source == "nvml" and len(prof.usable_gpus) == 2


# 12. a real GPU ----------------------------------------------------------------------------------

def _real_nvml_works() -> bool:
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:
        return False
    try:
        pynvml.nvmlShutdown()
    except pynvml.NVMLError:
        pass
    return True


@pytest.mark.gpu
def test_real_gpu_matches_nvidia_smi(monkeypatch, catalog):
    if shutil.which("nvidia-smi") is None:
        pytest.skip("no nvidia-smi: no NVIDIA driver on this machine")
    if not _real_nvml_works():
        pytest.skip("NVML does not start on this machine")
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    out = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader,nounits"],
                         capture_output=True, text=True, timeout=30, check=True).stdout
    smi = [(name.strip(), float(total)) for name, total in (line.rsplit(",", 1) for line in out.strip().splitlines())]

    prof = probe(catalog.gpu_by_name)
    assert prof.source == "nvml", prof.notes
    assert prof.driver_version and prof.cuda_driver_version
    assert [g.name for g in prof.gpus] == [name for name, _ in smi]
    for g, (_, total_mib) in zip(prof.gpus, smi):
        assert g.status == "ok"
        assert g.vram_total_gib == pytest.approx(total_mib / 1024, rel=0.01)
        assert 0 <= g.vram_free_gib <= g.vram_total_gib
        assert g.compute_capability
    assert prof.probe_s < 2.5
    json.dumps(prof.to_json())


def test_process_used_gib_for_smoke_measurements(monkeypatch):
    from vlmselect.hardware.nvml import process_used_gib

    install(monkeypatch, two_gpus())
    assert process_used_gib(os.getpid()) == pytest.approx(20.0)  # what smoke reports as the VRAM peak
    assert process_used_gib(DEAD_PID) is None  # listed without a usage figure: unknown, not zero
    assert process_used_gib(1) is None


def test_process_used_gib_without_nvml(monkeypatch):
    from vlmselect.hardware.nvml import process_used_gib

    install_missing_library(monkeypatch)
    assert process_used_gib(os.getpid()) is None
