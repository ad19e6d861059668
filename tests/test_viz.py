"""The memory pictures: bars that add up to the estimate, sweeps whose fit boundary is estimate's own
verdict, 80 columns on a terminal, plain ASCII off one, and well-formed SVG."""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from probe import RUN_AS_MAIN, run_on_terminal

from vlmselect.viz import FREE, MARGIN, SEGS

FILL = {c: s.key for s in (*SEGS, MARGIN, FREE) for c in (s.uni, s.ascii)}
LABEL = {s.label: s.key for s in SEGS} | {"free": "free"}
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
LEGEND_ITEM = re.compile(r"(\S) ([a-zA-Z ]+?|margin \d+%) (\d+\.\d+)")


def read_bars(lines: list[str]) -> list[dict]:
    """Each bar as drawn: usable GiB (from its status line), cells per segment, legend GiB per segment."""
    bars: list[dict] = []
    for ln in lines:
        s = ln.strip()
        m = re.search(r"needs (\d+\.\d+)(?: of|,) (\d+\.\d+) GiB usable", s)
        if m:
            bars.append({"need": float(m.group(1)), "usable": float(m.group(2)), "cells": {}, "gib": {}})
        elif bars and s.startswith("[") and s.endswith("]") and not bars[-1]["cells"]:
            for ch in s[1:-1]:
                if ch in FILL:
                    bars[-1]["cells"][FILL[ch]] = bars[-1]["cells"].get(FILL[ch], 0) + 1
        elif bars and bars[-1]["cells"] and ln.startswith(" ") and len(s) > 2 and s[0] in FILL and s[1] == " ":
            # a legend line: indented under its bar (a wrapped line of other text starts at column 0)
            for fill, label, v in LEGEND_ITEM.findall(s):
                key = "margin" if label.startswith("margin") else LABEL.get(label)
                if key:
                    assert FILL[fill] == key, (fill, label)  # the legend names the fill the bar uses
                    bars[-1]["gib"][key] = float(v)
    return bars


def estimate_json(cli, *args) -> dict:
    r = cli("estimate", *args, "--json")
    assert r.code == 0, r.err
    return r.json()


def check_bars_add_up(d: dict, bars: list[dict]) -> None:
    parts = d["parts_gib"]
    kv_img = d["kv_image_gib"]
    want = {"weights_text": parts["weights_text"], "weights_vision": parts["weights_vision"],
            "kv_text": parts["kv_cache"] - kv_img, "kv_image": kv_img, "compute": parts["compute"],
            "overhead": parts["overhead"]}
    per_gpu = d["mode"] == "multi-gpu"
    for key, gib in want.items():
        drawn = [b["gib"].get(key, 0.0) for b in bars]
        if per_gpu and key in ("compute", "overhead"):  # every GPU of a split holds its own
            assert all(abs(x - gib) <= 0.006 for x in drawn), (key, drawn, gib)
        else:  # the devices' shares add up to the estimate's part
            assert abs(sum(drawn) - gib) <= 0.006 * len(bars) + 1e-9, (key, drawn, gib)
    assert abs(sum(want.values()) - d["total_gib"]) <= 0.01
    for b in bars:
        # The cells are the legend's GiB on the bar's own scale (usable memory, or the need when over).
        inner = sum(b["cells"].values())
        scale = max(b["usable"], b["need"])
        for key, gib in b["gib"].items():
            assert abs(b["cells"].get(key, 0) - gib / scale * inner) <= 1.5, (key, b)


@pytest.mark.parametrize("args", [
    ("qwen2.5-vl-7b", "--gpu", "RTX 3090"),  # one GPU, room to spare
    ("qwen2-vl-72b", "--gpu", "RTX 3090", "--ram", "64"),  # offloads: a GPU bar and a RAM bar
    ("qwen2.5-vl-72b", "--gpu", "RTX 4090", "--gpu-count", "2"),  # split over two GPUs
    ("qwen2.5-vl-7b", "--cpu-only", "--ram", "32"),  # CPU: one RAM bar
])
def test_bars_add_up_to_the_estimate(cli, args):
    d = estimate_json(cli, *args)
    r = cli("estimate", *args)
    assert r.code == 0, r.err
    bars = read_bars(r.out.splitlines())
    expected = {"gpu": 1, "offload": 2, "multi-gpu": d["gpus_used"], "cpu": 1}[d["mode"]]
    assert len(bars) == expected, r.out
    check_bars_add_up(d, bars)
    if d["mode"] == "offload":
        assert "system RAM" in r.out


def svg_lines(path: Path) -> list[str]:
    """The SVG's text, line by line: rich writes one <text> per run, placed at (x, y)."""
    root = ET.parse(path).getroot()  # well-formed, or this raises
    rows: dict[float, list[tuple[float, str]]] = {}
    for el in root.iter("{http://www.w3.org/2000/svg}text"):
        if el.get("y") is None or el.get("x") is None:
            continue
        rows.setdefault(float(el.get("y")), []).append((float(el.get("x")), "".join(el.itertext())))
    return ["".join(t for _, t in sorted(runs)).replace("\xa0", " ") for _, runs in sorted(rows.items())]


def test_svg_is_well_formed_and_its_bars_add_up(cli, tmp_path):
    args = ("qwen2-vl-72b", "--gpu", "RTX 3090", "--ram", "64")
    d = estimate_json(cli, *args)
    path = tmp_path / "fill.svg"
    r = cli("estimate", *args, "--svg", str(path))
    assert r.code == 0, r.err
    lines = svg_lines(path)
    bars = read_bars(lines)
    assert len(bars) == 2 and any("█" in ln for ln in lines)  # the terminal fills, in colour
    check_bars_add_up(d, bars)
    assert 'fill="#' in path.read_text()  # coloured runs, whatever the terminal the command ran in


def test_svg_of_a_sweep_and_of_recommend_explain(cli, tmp_path):
    for args in (("estimate", "qwen2.5-vl-7b", "--gpu", "RTX 3060", "--sweep", "images"),
                 ("recommend", "--task", "ocr", "--gpu", "RTX 3090", "--local", "--top", "2")):
        path = tmp_path / "p.svg"
        r = cli(*args, "--svg", str(path))
        assert r.code == 0, r.err
        lines = svg_lines(path)
        assert len(lines) > 5
        if args[0] == "recommend":
            assert len(read_bars(lines)) >= 2  # one bar under each of the two picks
        else:
            assert any(ln.strip().startswith("16 ") for ln in lines)


def test_svg_to_a_missing_folder_is_a_usage_error(cli, tmp_path):
    r = cli("estimate", "qwen2.5-vl-7b", "--svg", str(tmp_path / "no" / "such" / "dir.svg"))
    assert r.code == 2 and "--svg" in r.err and "Hint:" in r.err and "Traceback" not in r.err


# ---------------------------------------------------------------- sweeps


SWEEPS = [
    ("context", ("qwen2.5-vl-7b", "--gpu", "RTX 3060", "--quant", "q4_k_m", "--runner", "llama.cpp")),
    ("images", ("internvl2-26b", "--gpu", "RTX 3090")),
    ("resolution", ("qwen2.5-vl-7b", "--gpu", "RTX 3060", "--quant", "q4_k_m", "--runner", "llama.cpp")),
]
FLAG = {"context": "--context", "images": "--images", "resolution": "--resolution"}


@pytest.mark.parametrize("dim,args", SWEEPS)
def test_sweep_boundary_is_estimates_own_verdict(cli, dim, args):
    data = cli("estimate", *args, "--sweep", dim, "--json").json()
    b = data["boundary"]
    assert b is not None, [(r["value"], r["fits"]) for r in data["rows"]]
    rows = {r["value"]: r for r in data["rows"]}
    for v, fits in ((b["last_fit"], True), (b["first_no_fit"], False)):
        value = rows[v]["label"]
        d = estimate_json(cli, args[0], *args[1:], "--quant", data["quant"], "--runner", data["runner"],
                          FLAG[dim], value)
        assert d["fits"] is fits, (dim, value, d["mode"], d["notes"])
        assert d["total_gib"] == rows[v]["total_gib"]
    # The picture says the same as the JSON: the line where it stops fitting names the two values.
    out = cli("estimate", *args, "--sweep", dim).out
    m = re.search(r"stops fitting on this GPU past (\S+); from (\S+):", out)
    assert m and (m.group(1), m.group(2)) == (rows[b["last_fit"]]["label"], rows[b["first_no_fit"]]["label"]), out


def test_every_row_of_a_sweep_is_an_estimate(cli):
    data = cli("estimate", "internvl2-26b", "--gpu", "RTX 3090", "--sweep", "images=1:6", "--json").json()
    assert [r["value"] for r in data["rows"]] == [1, 2, 3, 4, 5, 6]
    for r in data["rows"]:
        d = estimate_json(cli, "internvl2-26b", "--gpu", "RTX 3090", "--quant", data["quant"], "--runner",
                          data["runner"], "--images", str(r["value"]))
        assert (d["total_gib"], d["fits"], d["mode"]) == (r["total_gib"], r["fits"], r["mode"])


def test_sweep_default_context_range_reaches_the_models_window(cli, catalog):
    data = cli("estimate", "qwen2.5-vl-7b", "--cpu-only", "--ram", "64", "--sweep", "context", "--json").json()
    values = [r["value"] for r in data["rows"]]
    assert values[0] == 1024 and values[-1] == catalog.models["qwen2.5-vl-7b"].context_max
    assert all(b == 2 * a for a, b in zip(values, values[1:-1]))


@pytest.mark.parametrize("bad", ["tokens", "context=0:10", "context=5000:1000", "images=1:100:0", "resolution=1:99999",
                                 "context=1:1000000:1"])
def test_bad_sweeps_are_usage_errors(cli, bad):
    r = cli("estimate", "qwen2.5-vl-7b", "--sweep", bad)
    assert r.code == 2 and "--sweep" in r.err and "Hint:" in r.err and "Traceback" not in r.err


# ---------------------------------------------------------------- terminals


TERMINAL_CASES = [
    ("estimate", "qwen2-vl-72b", "--gpu", "RTX 3090", "--ram", "64"),
    ("estimate", "qwen2.5-vl-7b", "--gpu", "RTX 3060", "--sweep", "resolution"),
    ("recommend", "--task", "ocr", "--gpu", "RTX 4090", "--local", "--top", "2", "--explain"),
]


@pytest.mark.parametrize("args", TERMINAL_CASES)
def test_80_column_terminal_without_colour(args):
    from rich.cells import cell_len

    out = run_on_terminal(*args, env={"COLUMNS": "80", "NO_COLOR": "1", "TERM": "xterm-256color"})
    lines = ANSI.sub("", out).replace("\r", "").splitlines()
    too_wide = [ln for ln in lines if cell_len(ln) > 80]
    assert not too_wide, too_wide
    assert not re.search(r"\x1b\[(3|4|9)\d", out)  # NO_COLOR: no colour codes at all
    # Without colour the parts are still told apart: each its own fill, named in the legend
    # (read_bars checks that a legend entry's fill is the one its part uses in the bar).
    if args[0] == "estimate" and "--sweep" not in args:
        bars = read_bars(lines)
        assert bars and all(len(b["cells"]) >= 4 for b in bars)
        assert all(ch in ANSI.sub("", out) for ch in "█▒░")
    else:
        assert "█" in out


def test_terminal_with_colour_uses_colour():
    out = run_on_terminal("estimate", "qwen2.5-vl-7b", "--gpu", "RTX 3090",
                          env={"COLUMNS": "80", "TERM": "xterm-256color"}, drop=("NO_COLOR",))
    assert re.search(r"\x1b\[[0-9;]*3\d", out)


def test_pipes_get_plain_ascii_within_80_columns(cli):
    r = cli("estimate", "qwen2-vl-72b", "--gpu", "RTX 3090", "--ram", "64")  # COLUMNS=200, not a terminal
    pic = r.out[r.out.index("GPU 0"):].splitlines()
    assert pic and all(len(ln) <= 80 and ln.isascii() for ln in pic), pic
    assert "\x1b" not in r.out


def test_recommend_json_path_does_not_import_rich():
    code = ("import sys; sys.argv=['vlmselect','recommend','--task','ocr','--gpu','RTX 3090','--json']\n" + RUN_AS_MAIN
            + "print('RICH=' + ','.join(m for m in sys.modules if m == 'rich' or m.startswith('rich.')), file=sys.stderr)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "RICH=\n" in r.stderr + "\n", r.stderr[-500:]


def test_plan_draws_images_per_hour_up_to_the_kv_limit(cli):
    args = ("plan", "--model", "qwen2.5-vl-7b", "--gpu", "RTX 4090", "--images", "100000", "--within", "24h")
    d = cli(*args, "--json").json()["plans"][0]
    out = cli(*args).out.splitlines()
    rows = [ln for ln in out if re.match(r"^\s+\d+  #+\s+[\d,]+\s+[\d.]+s", ln)]
    assert [int(r.split()[0]) for r in rows] == [x["concurrency"] for x in d["curve"]]
    assert [int(r.split()[2].replace(",", "")) for r in rows] == [x["images_per_hour"] for x in d["curve"]]
    kv = [r for r in rows if r.rstrip().endswith("KV full")]
    assert len(kv) == 1 and int(kv[0].split()[0]) == d["max_concurrency_kv"] == d["curve"][-1]["concurrency"]
    assert all(len(r) <= 80 for r in rows)
