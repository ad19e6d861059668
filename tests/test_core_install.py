"""A core install (no [hf] extras) runs every command: pull and smoke through a loopback Ollama,
doctor, and a clear message naming the extras where they are needed. The extras are hidden from
a child interpreter by an import blocker, as if they had never been installed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from fake_ollama import FakeOllama

EXTRAS = ("torch", "transformers", "accelerate", "bitsandbytes", "huggingface_hub", "tokenizers", "safetensors")

BLOCKER = f"""
import importlib.abc, sys
class _NoExtras(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {EXTRAS!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None
sys.meta_path.insert(0, _NoExtras())
"""

GOOD_ANSWER = ("INVOICE 4711\\nDate 2026-03-14\\nWidgets 3 x 12.50\\nTotal 1234.50\\nA=3, B=7, C=5\\n"
               "The circle is red.")


@pytest.fixture
def core_env(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(textwrap.dedent(BLOCKER))
    env = {k: v for k, v in os.environ.items()}
    env["PYTHONPATH"] = os.pathsep.join([str(site), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def run(env, *args):
    return subprocess.run([sys.executable, "-m", "vlmselect", *args], capture_output=True, text=True, env=env,
                          timeout=180)


def test_the_blocker_hides_the_extras(core_env):
    r = subprocess.run([sys.executable, "-c", "import torch"], capture_output=True, text=True, env=core_env)
    assert r.returncode != 0 and "No module named 'torch'" in r.stderr


def test_core_install_pulls_and_smokes_through_ollama(core_env):
    with FakeOllama({"llava:7b": {"size": 4_500_000_000}}) as srv:
        srv.chat_reply = GOOD_ANSWER.replace("\\n", "\n")
        core_env["OLLAMA_HOST"] = srv.host
        r = run(core_env, "pull", "llava-1.6-7b", "--runner", "ollama", "--gpu", "RTX 3090", "--yes", "--smoke")
    assert r.returncode == 0, r.stderr
    assert "PASSED" in r.stdout


def test_core_install_doctor_reports_the_missing_extras(core_env):
    r = run(core_env, "doctor", "--json")
    assert r.returncode in (0, 1), r.stderr
    checks = {c["name"]: c for c in json.loads(r.stdout)["checks"]}
    assert checks["ollama"]["status"] == "ok" and checks["pillow"]["status"] == "ok"


def test_core_install_hf_smoke_names_the_extras(core_env, tmp_path):
    d = tmp_path / "model"
    d.mkdir()
    (d / "config.json").write_text("{}")
    (d / "model.safetensors").write_bytes(b"")
    r = run(core_env, "smoke", str(d), "--runner", "hf")
    assert r.returncode == 1, r.stderr
    assert "vlmselect[hf]" in r.stderr and "Traceback" not in r.stderr
