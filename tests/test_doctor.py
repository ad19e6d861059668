"""doctor: checks with hints, exit codes, and the Ollama check against a loopback server and none."""

from __future__ import annotations

import time

import pytest
from fake_ollama import FakeOllama

from vlmselect.doctor import Check, _gpu_checks
from vlmselect.runners.ollama import ollama_host
from vlmselect.hardware.types import GpuInfo, GpuProcess, HardwareProfile


def checks_by_name(d):
    return {c["name"]: c for c in d["checks"]}


def test_doctor_without_gpu_or_ollama(cli):
    start = time.perf_counter()
    r = cli("doctor", "--json")
    took = time.perf_counter() - start
    assert r.code in (0, 1) and "Traceback" not in r.err
    d = r.json()
    assert d["hardware"]["gpus"] == []
    c = checks_by_name(d)
    assert c["gpu"]["status"] in ("warn", "fail") and c["gpu"]["hint"]
    assert c["ollama server"]["status"] in ("warn", "fail", "skip")
    assert "ollama serve" in c["ollama server"]["hint"]
    for ch in d["checks"]:
        assert ch["status"] in ("ok", "warn", "fail", "skip")
        if ch["status"] in ("warn", "fail"):
            assert ch["hint"], ch
    assert took < 10


def test_doctor_with_a_loopback_ollama(cli, monkeypatch):
    with FakeOllama(version="0.12.6") as srv:
        monkeypatch.setenv("OLLAMA_HOST", srv.host)
        d = cli("doctor", "--json").json()
    c = checks_by_name(d)
    assert c["ollama server"]["status"] == "ok" and "0.12.6" in c["ollama server"]["detail"]


def test_doctor_table_is_readable(cli):
    r = cli("doctor")
    assert "Checks" in r.out and "ollama server" in r.out and "disk[ollama]" in r.out
    assert "failed" in r.out


def test_exit_1_when_a_check_fails(cli, monkeypatch):
    import vlmselect.doctor as doc

    real = doc.run_checks

    def failing(cat):
        hw, checks = real(cat)
        return hw, checks + [Check("torch", "fail", "CUDA is not available to torch", "install a CUDA build")]

    monkeypatch.setattr(doc, "run_checks", failing)
    assert cli("doctor").code == 1


def test_gpu_checks_name_the_processes_holding_vram():
    g = GpuInfo(index=0, name="NVIDIA GeForce RTX 3090", vram_total_gib=24.0, vram_free_gib=6.0,
                compute_capability="8.6", bf16=True, processes=(GpuProcess(4242, "python", 17.5),))
    hw = HardwareProfile(source="nvml", gpus=(g,), driver_version="550.54.14", cuda_driver_version="12.4")
    c = {x.name: x for x in _gpu_checks(hw)}
    assert c["gpu"].status == "ok"
    assert c["driver"].status == "ok" and "12.4" in c["driver"].detail
    assert c["bf16"].status == "ok"
    assert c["vram[0]"].status == "warn" and "python (pid 4242, 17.5 GiB)" in c["vram[0]"].detail
    assert c["vram[0]"].hint


def test_old_gpu_warns_about_bf16():
    g = GpuInfo(index=0, name="Tesla T4", vram_total_gib=15.0, vram_free_gib=14.5, compute_capability="7.5", bf16=False)
    c = {x.name: x for x in _gpu_checks(HardwareProfile(source="nvml", gpus=(g,)))}
    assert c["bf16"].status == "warn" and "fp16" in c["bf16"].hint


@pytest.mark.parametrize("env,url", [
    (None, "http://127.0.0.1:11434"),
    ("0.0.0.0", "http://127.0.0.1:11434"),
    ("example.lan:5000", "http://example.lan:5000"),
    ("https://ollama.example.org", "https://ollama.example.org:443"),
    (":5555", "http://127.0.0.1:5555"),
])
def test_ollama_host_parsing(monkeypatch, env, url):
    if env is None:
        monkeypatch.delenv("OLLAMA_HOST", raising=False)
    else:
        monkeypatch.setenv("OLLAMA_HOST", env)
    assert ollama_host() == url
