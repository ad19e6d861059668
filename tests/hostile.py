"""A seeded mutator for catalog entries, and the checks every command's answer must pass.

Shipped entries (one per image-token rule, the APIs, GPUs and tasks) are mutated at every nested
path: a key removed, a value of the wrong type, empty, zero / negative / huge / tiny / NaN / inf
numbers, far dates, unicode, control characters, very long text and shell metacharacters. The
tests (test_hostile_catalog.py) hold each command to one rule: either `catalog validate` names
the problem with its file and line and every other command exits 2 saying the catalog is
invalid, or validate says valid and every command works. CI runs a sample; scripts/hostile_sweep.py
runs every distinct case (~3,700, about 15 min on 2 cores) and, with --all, every base entry's (~29,000).
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import json
import math
import random
import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

SHIPPED = Path(__file__).resolve().parents[1] / "catalog"

# What a shell would read as more than one word or as code, if a value reached a command unquoted.
SHELL = "x y;z|w&v$(id)`id`>o<i'q\"d\\*?~!#{a,b}\n"
STRINGS = {
    "empty": "",
    "blank": "   ",
    "unicode": "Zeichen \u00fc\u00df \u6f22\u5b57 \U0001f600 \u0645\u0631\u062d\u0628\u0627",
    "control": "red\x1b[31m\x07\x08\x7f\u202e\u200b end",
    "long": "L" * 20_000,
    "shell": SHELL,
    "newline": "line one\nline two",
    "dash": "--help",
}
NUMBERS = {
    "zero": 0, "negative": -1, "neg_float": -0.5, "tiny": 1e-300, "subnormal": 5e-324, "huge_float": 1e300,
    "huge_int": 10**400, "int64": 2**63, "inf": math.inf, "neg_inf": -math.inf, "nan": math.nan, "bool": True,
}
WRONG_TYPES = {"str": "text", "int": 7, "float": 2.5, "bool": False, "null": None, "list": [1, "a"],
               "dict": {"k": "v"}, "empty_list": [], "empty_dict": {}}
DATES = {"year1": dt.date(1, 1, 1), "year9999": dt.date(9999, 12, 31)}


def kind_of(path: Path) -> str | None:
    stem = path.stem
    for kind in ("models", "apis", "gpus", "tasks"):
        if stem == kind or stem.endswith("-" + kind):
            return kind
    return None


@functools.lru_cache(maxsize=None)
def _shipped(kind: str) -> tuple[dict[str, Any], ...]:
    out: list[dict[str, Any]] = []
    for f in sorted(SHIPPED.glob("*.yaml")):
        if kind_of(f) == kind:
            out += yaml.load(f.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return tuple(out)


def shipped(kind: str) -> list[dict[str, Any]]:
    """The shipped entries of one kind, as read (a fresh copy: callers mutate them)."""
    return copy.deepcopy(list(_shipped(kind)))


def bases() -> dict[str, list[dict[str, Any]]]:
    """A few shipped entries of each kind that between them use every block the schema has."""
    models = shipped("models")
    picked: list[dict[str, Any]] = []
    for rule in ("fixed", "qwen2-vl", "anyres", "tiles", "slices", "phi3-vision", "patches", "cross-attention"):
        picked.append(next(m for m in models if m["image_tokens"]["rule"] == rule))
    for want in ("gguf", "ollama", "awq", "fp8", "nougat_ocr"):
        hit = next((m for m in models if want in (m.get("runners") or {})), None)
        if hit is not None and hit not in picked:
            picked.append(hit)
    moe = next((m for m in models if m["params"].get("active_b")), None)
    if moe is not None and moe not in picked:
        picked.append(moe)
    apis = shipped("apis")
    api_picked = []
    for rule in ("fixed", "openai-tiles", "openai-patches", "anthropic", "gemini-tiles"):
        api_picked.append(next(a for a in apis if a["image_tokens"]["rule"] == rule))
    st = next((a for a in apis if a.get("status")), None)
    if st is not None and st not in api_picked:
        api_picked.append(st)
    gpus = shipped("gpus")
    gpu_picked = [next(g for g in gpus if g["id"] == "rtx-3090")]
    gpu_picked.append(next(g for g in gpus if g.get("unified_memory")))
    tasks = shipped("tasks")
    task_picked = [t for t in tasks if t["id"] in ("ocr", "grounding")] + [next(t for t in tasks if t.get("video"))]
    return {"models": picked, "apis": api_picked, "gpus": gpu_picked, "tasks": task_picked}


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every nested (path, value), the root excluded."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield (*prefix, k), v
            yield from paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield (*prefix, i), v
            yield from paths(v, (*prefix, i))


def _parent(entry: Any, path: tuple[Any, ...]) -> Any:
    node = entry
    for p in path[:-1]:
        node = node[p]
    return node


def mutations(value: Any) -> list[tuple[str, Any]]:
    """(name, new value) for one value; the value `DELETE` removes the key."""
    out: list[tuple[str, Any]] = [("delete", DELETE)]
    kinds = {"str": str, "int": int, "float": float, "bool": bool, "null": type(None), "list": list, "dict": dict}
    for name, v in WRONG_TYPES.items():
        base = name.replace("empty_", "")
        if not isinstance(value, kinds[base]) or (base == "int" and isinstance(value, bool)):
            out.append((f"type:{name}", v))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        out += [(f"num:{n}", v) for n, v in NUMBERS.items()]
    if isinstance(value, str):
        out += [(f"str:{n}", v) for n, v in STRINGS.items()]
    if isinstance(value, dt.date):
        out += [(f"date:{n}", v) for n, v in DATES.items()]
    if isinstance(value, dict):
        out += [("empty_dict", {}), ("extra_key", {**value, "zz_unknown": 1})]
    if isinstance(value, list):
        out += [("empty_list", []), ("doubled", value + value)]
    return out


DELETE = object()


def mutate(entry: dict[str, Any], path: tuple[Any, ...], new: Any) -> dict[str, Any]:
    e = copy.deepcopy(entry)
    parent = _parent(e, path)
    if new is DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = copy.deepcopy(new)
    return e


def all_cases(kind: str, entries: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """Every (description, mutated entry) of `entries`."""
    out = []
    for entry in entries:
        for path, value in paths(entry):
            for name, new in mutations(value):
                where = ".".join(str(p) for p in path)
                out.append((f"{kind}:{entry['id']}:{where}:{name}", mutate(entry, path, new)))
    return out


def case(desc: str) -> tuple[str, str, dict[str, Any]]:
    """The (kind, description, entry) that all_cases names `desc` (kind:id:dotted.path:mutation),
    built alone: a case a sweep found, kept as a regression test."""
    kind, eid = desc.split(":", 2)[:2]
    entry = next(e for e in shipped(kind) if e["id"] == eid)
    for path, value in paths(entry):
        where = ".".join(str(p) for p in path)
        for name, new in mutations(value):
            if f"{kind}:{eid}:{where}:{name}" == desc:
                return kind, desc, mutate(entry, path, new)
    raise KeyError(desc)


def _shape(desc: str) -> str:
    """A case's schema position: benchmark names, score keys and list positions folded together."""
    kind, _, where, name = desc.split(":", 3)
    where = re.sub(r"^(benchmarks|seed|unknown|capabilities|needs)\.[^.]+", r"\1.*", where)
    where = re.sub(r"(files|rank\.benchmarks|rank\.capabilities)\.[^.]+", r"\1.*", where)
    where = re.sub(r"\.\d+", ".#", where)
    return f"{kind}:{where}:{name}"


def distinct_cases() -> list[tuple[str, str, dict[str, Any]]]:
    """One (kind, description, entry) per schema position and mutation (the first base that has it)."""
    seen: set[str] = set()
    out = []
    for kind, entries in bases().items():
        for desc, e in all_cases(kind, entries):
            shape = _shape(desc)
            if shape not in seen:
                seen.add(shape)
                out.append((kind, desc, e))
    return out


def sample(seed: int, n: int) -> list[tuple[str, str, dict[str, Any]]]:
    """`n` (kind, description, entry) drawn with `seed` from the distinct cases."""
    cases = distinct_cases()
    return random.Random(seed).sample(cases, min(n, len(cases)))


def dump(entries: list[dict[str, Any]]) -> str:
    # PyYAML writes ints beyond 64 bits, .inf and .nan as YAML loads them back; control characters escaped.
    return yaml.safe_dump(entries, allow_unicode=True, sort_keys=False, width=10**6)


# ---------------------------------------------------------------- what every answer must satisfy


def strict_json(text: str) -> Any:
    """JSON as RFC 8259 has it: NaN and Infinity are not JSON (a strict reader refuses them)."""
    def bad(name: str) -> Any:
        raise ValueError(f"not JSON: {name}")
    return json.loads(text, parse_constant=bad)


_COMMAND = re.compile(r"^\s*(?:\$ )?((?:[A-Z_]+=\S+ )*(?:vlmselect|ollama|vllm|llama-server|llama-mtmd-cli|hf|huggingface-cli|"
                      r"pip|python|curl|ray|magick|git|docker)\b.*)$")


def unsafe_commands(text: str) -> list[str]:
    """Printed command lines that a shell would split differently from what they mean: SHELL's
    characters outside quotes. A command that holds the payload must hold it as one quoted word."""
    bad = []
    for line in text.splitlines():
        m = _COMMAND.match(line.split("   #")[0])
        if not m:
            continue
        cmd = m.group(1)
        for piece in re.findall(r"`([^`]+)`", line) or [cmd]:
            if "y;z" not in piece and "$(id)" not in piece:
                continue
            try:
                words = shlex.split(piece)
            except ValueError:
                bad.append(line)
                continue
            if not any("y;z|w&v$(id)" in w for w in words):
                bad.append(line)
    return bad
