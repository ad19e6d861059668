"""doctor: checks with hints, exit codes, and the Ollama check against a loopback server and none."""

from __future__ import annotations

import time
from pathlib import Path

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
        report = real(cat)
        report.checks.append(Check("torch", "fail", "CUDA is not available to torch", "install a CUDA build"))
        return report

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


HOSTS = [None, "", "0.0.0.0", "1.2.3.4", ":5555", "example.lan:5000", "http://h", "https://ollama.example.org",
         "https://ollama.example.org/ollama/", "h:1/a/b/", "[::1]", "[fe80::1]:5/p", "https://user:secret@host/prefix",
         "user:pw@h:9", "HTTP://upper"]


@pytest.mark.parametrize("env", HOSTS)
def test_ollama_host_is_what_the_ollama_client_uses(monkeypatch, env):
    from ollama._client import _parse_host  # the installed client's own rule is the reference

    if env is None:
        monkeypatch.delenv("OLLAMA_HOST", raising=False)
    else:
        monkeypatch.setenv("OLLAMA_HOST", env)
    assert ollama_host() == _parse_host(env)


def test_doctor_never_prints_ollama_credentials_and_keeps_the_path(cli, monkeypatch):
    with FakeOllama(version="0.12.6") as srv:
        port = srv.host.rsplit(":", 1)[1].strip("/")
        monkeypatch.setenv("OLLAMA_HOST", f"http://alice:s3cret-token@127.0.0.1:{port}/")
        j = cli("doctor", "--json")
        t = cli("doctor")
        monkeypatch.setenv("OLLAMA_HOST", f"http://alice:s3cret-token@127.0.0.1:{port}/behind/proxy")
        p = cli("doctor", "--json")
    for r in (j, t, p):
        assert "s3cret" not in r.out + r.err
    c = checks_by_name(j.json())
    assert c["ollama server"]["status"] == "ok" and "credentials" in c["ollama server"]["detail"]
    assert "alice:***" in c["ollama server"]["detail"]
    assert f"127.0.0.1:{port}/behind/proxy" in checks_by_name(p.json())["ollama server"]["detail"]


@pytest.mark.parametrize("env", [{"HF_HOME": "~/hf-home"}, {"HF_HOME": "$VLM_T/x"}, {"HF_HUB_CACHE": "~/hub"},
                                 {"HUGGINGFACE_HUB_CACHE": "~/legacy"}, {"XDG_CACHE_HOME": "/tmp/xdg"}, {}])
def test_hf_cache_is_where_huggingface_hub_puts_it(monkeypatch, tmp_path, env):
    import importlib

    import huggingface_hub.constants as constants

    from vlmselect.hardware import model_dirs

    for var in ("HF_HOME", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "XDG_CACHE_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("VLM_T", str(tmp_path / "t"))
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    try:
        importlib.reload(constants)  # huggingface_hub reads the environment at import
        assert model_dirs()["huggingface"] == Path(constants.HF_HUB_CACHE)
        assert "~" not in str(model_dirs()["huggingface"])
    finally:
        monkeypatch.undo()
        importlib.reload(constants)


def test_doctor_checks_every_optional_package(cli, monkeypatch):
    from importlib import metadata

    real = metadata.version

    def version(dist):
        if dist in ("ollama", "accelerate"):
            raise metadata.PackageNotFoundError(dist)
        return real(dist)

    monkeypatch.setattr(metadata, "version", version)
    c = checks_by_name(cli("doctor", "--json").json())
    for name in ("ollama", "pillow", "huggingface_hub", "accelerate", "torch", "transformers", "bitsandbytes"):
        assert name in c, name
    assert c["ollama"]["status"] == "fail" and "core dependency" in c["ollama"]["hint"]  # the core install lacks it
    assert c["accelerate"]["status"] == "skip" and "vlmselect[hf]" in c["accelerate"]["hint"]
    assert c["pillow"]["status"] == "ok" and c["huggingface_hub"]["status"] == "ok"
