"""Hostile catalogs: shipped entries mutated at every nested path (tests/hostile.py), and hostile
files (devices, pipes, folders, loops, tags, encodings). One rule for every command: either
`catalog validate` names each problem with its file and line and every other command exits 2
saying the catalog is invalid, or validate says valid and every command works (exit 0, or a
usage refusal with a hint that is not about the catalog). Never an internal error or a
traceback, never NaN/Infinity in JSON, never a printed command a shell would split differently."""

from __future__ import annotations

import datetime as dt
import os
import re
import threading
from pathlib import Path

import hostile
import pytest
import yaml

GPU = ["--gpu", "rtx-3090"]


def commands(kind: str, eid: str) -> list[tuple[str, ...]]:
    """The commands that read an entry of `kind`: every one the issue names."""
    plan = ("plan", "--task", "ocr", "--images", "1000", "--within", "24h")
    # Every row as JSON, and the text with its explanations (rendering 100 cards as text costs ~1.5 s).
    rec = [("recommend", "--task", "ocr", "--top", "100", "--json", *GPU), ("recommend", "--task", "ocr", "--explain", *GPU)]
    if kind == "models":
        return [*rec, ("models", "--json"),
                ("show", eid, "--json"), ("estimate", eid, *GPU), ("snippet", eid, *GPU), (*plan, *GPU)]
    if kind == "apis":
        return [*rec, ("models", "--json"),
                ("show", eid, "--json"), ("snippet", eid), ("snippet", eid, "--lang", "curl"), (*plan, *GPU)]
    if kind == "gpus":
        g = ["--gpu", eid]
        return [("recommend", "--task", "ocr", "--top", "100", "--json", *g), ("recommend", "--task", "ocr", "--explain", *g),
                ("estimate", "qwen2-vl-7b", *g),
                ("snippet", "qwen2-vl-7b", *g), (*plan, *g)]
    plan = ("plan", "--task", eid, "--images", "1000", "--within", "24h")
    return [("recommend", "--task", eid, "--top", "100", "--json", *GPU), ("recommend", "--task", eid, "--explain", *GPU),
            ("models", "--task", eid, "--json"),
            ("estimate", "qwen2-vl-7b", "--task", eid, *GPU), ("snippet", "qwen2-vl-7b", "--task", eid),
            ("snippet", "gpt-4o", "--task", eid, "--lang", "curl"), (*plan, *GPU)]


def no_crash(r, what) -> None:
    assert "internal error" not in r.err and "Traceback" not in r.err, (what, r.err[-2000:])
    assert r.code in (0, 1, 2), (what, r.code)


def check_answer(r, what) -> None:
    """A valid catalog: the command works, or refuses the request (not the catalog) with a hint."""
    no_crash(r, what)
    if r.code != 0:
        assert r.code == 2 and "Hint:" in r.err and "invalid catalog" not in r.err, (what, r.err[-2000:])
    if "--json" in what and r.code == 0:
        hostile.strict_json(r.out)
    assert not hostile.unsafe_commands(r.out + r.err), (what, hostile.unsafe_commands(r.out + r.err))


def check_catalog(cli, path: Path, kind: str | None, eid: str, where: str, user_dir: Path | None = None) -> bool:
    """Hold `path` to the rule; True when it was valid. `where`: passed with --catalog, or (user)
    copied into the user's catalog folder, which every command reads."""
    v = cli("catalog", "validate", str(path))
    no_crash(v, ("validate", where))
    extra: tuple[str, ...] = ("--catalog", str(path))
    if user_dir is not None:
        user_dir.mkdir(parents=True, exist_ok=True)
        os.replace(path, user_dir / path.name) if path.is_file() else None
        extra = ()
    if v.code == 0:
        assert re.search(r": \d+ entries, all valid", v.out), (where, v.out)
        for c in commands(kind, eid) if kind else [("models", "--json")]:
            check_answer(cli(*extra, *c), (where, c))
        return True
    assert v.code == 2, (where, v.code, v.err)
    problems = [line for line in v.err.splitlines() if line.startswith(str(path))]
    assert problems, (where, v.err)
    for c in ([("models", "--json")] + (commands(kind, eid)[:1] if kind else [])):
        r = cli(*extra, *c)
        no_crash(r, (where, c))
        assert r.code == 2 and "invalid catalog" in r.err and "Hint:" in r.err, (where, c, r.code, r.err[-1500:])
    return False


def _entry_case(cli, tmp_path, i, kind, desc, entry, use_user_dir):
    p = tmp_path / f"c{i}-{kind}.yaml"
    p.write_text(hostile.dump([entry]), encoding="utf-8")
    eid = entry.get("id") if isinstance(entry.get("id"), str) else "x"
    valid = check_catalog(cli, p, kind, eid, desc, tmp_path / "config" if use_user_dir else None)
    if not valid:
        # A problem in one entry's field names that field's line (not only the file).
        src = (tmp_path / "config" / p.name) if use_user_dir else p
        probs = cli("catalog", "validate", str(src)).err.splitlines()
        assert any(re.match(re.escape(str(src)) + r":\d+: ", x) for x in probs), (desc, probs)
    if use_user_dir:
        (tmp_path / "config" / p.name).unlink()
    return valid


# ---------------------------------------------------------------- the mutator: every path, every kind of bad value


FAST = 24  # drawn per run from ~3,700 distinct (schema position, mutation) cases (hostile.distinct_cases)


def test_mutated_shipped_entries_sampled(cli, isolated_user):
    cases = hostile.sample(seed=1313, n=FAST)
    assert {k for k, _, _ in cases} == {"models", "apis", "gpus", "tasks"}
    valid = sum(_entry_case(cli, isolated_user, i, *c, use_user_dir=bool(i % 2)) for i, c in enumerate(cases))
    assert 0 < valid < len(cases)  # the sample holds both kinds of answer


# Cases the full sweep found (scripts/hostile_sweep.py: every distinct case, and with --all every
# base entry's): each once broke a command of a catalog that `catalog validate` called valid.
SWEEP_FOUND = [
    "models:qwen2-vl-7b:seed.vram_fp16_gb:num:zero",  # `models`: ZeroDivisionError comparing the seed's claim
    "models:qwen2-vl-7b:seed.vram_fp16_gb:num:huge_int",  # OverflowError
    "models:qwen2-vl-7b:seed.vram_fp16_gb:type:bool",  # true read as 1 GB, false as 0: ZeroDivisionError
    "models:qwen2-vl-7b:seed.vram_q4_gb:num:zero",
    "models:qwen2-vl-7b:seed.vram_q4_gb:num:huge_int",
    "models:qwen2-vl-7b:seed.vram_q4_gb:type:bool",
]


@pytest.mark.parametrize("desc", SWEEP_FOUND)
def test_cases_the_full_sweep_found(cli, isolated_user, desc):
    kind, desc, entry = hostile.case(desc)
    assert not _entry_case(cli, isolated_user, 0, kind, desc, entry, use_user_dir=False)  # refused, with its line


# ---------------------------------------------------------------- numbers no real entry has


@pytest.mark.parametrize("kind,entry_id,path,value", [
    ("models", "internvl3.5-1b", ("image_tokens", "max_tiles"), 2**63),  # once: MemoryError listing tile grids
    ("models", "qwen2-vl-7b", ("arch", "layers"), 10**400),  # once: OverflowError, int too large for a float
    ("models", "qwen2-vl-7b", ("params", "vision_b"), 1e300),  # once: NaN estimate, Infinity in JSON
    ("models", "qwen2-vl-7b", ("params", "total_b"), 5e-324),
    ("gpus", "rtx-3090", ("vram_gb",), 1e300),
    ("apis", "gpt-4o", ("price", "input_per_mtok"), 1e-320),
    ("models", "gemma-4-26b-a4b", ("released",), dt.date(1, 1, 1)),  # once: ZeroDivisionError in the quality fit
    ("models", "gemma-4-26b-a4b", ("released",), dt.date(9999, 12, 31)),  # once: OverflowError (math range)
], ids=lambda v: ".".join(v) if isinstance(v, tuple) else str(v)[:12])
def test_numbers_beyond_any_real_entry_are_refused_with_their_line(cli, tmp_path, kind, entry_id, path, value):
    entry = next(e for e in hostile.shipped(kind) if e["id"] == entry_id)
    p = tmp_path / f"x-{kind}.yaml"
    p.write_text(hostile.dump([hostile.mutate(entry, path, value)]), encoding="utf-8")
    r = cli("catalog", "validate", str(p))
    assert r.code == 2 and re.search(rf"{re.escape(str(p))}:\d+: {entry_id} {'.'.join(path)}: must be ", r.err), r.err
    assert not check_catalog(cli, p, kind, entry_id, "numbers")


# ---------------------------------------------------------------- hostile files


def _model_text() -> str:
    return hostile.dump([next(e for e in hostile.shipped("models") if e["id"] == "qwen2-vl-7b")])


def _shared_blocks() -> str:
    """Two entries sharing their blocks: PyYAML writes the second's as aliases (&id001 ... *id001)."""
    e = next(e for e in hostile.shipped("models") if e["id"] == "qwen2-vl-7b")
    text = hostile.dump([e, dict(e, id="alias-copy", name="Alias copy", aliases=None)])
    assert "*id00" in text
    return text


def _board(change: str) -> str:
    """One board of the shipped boards.yaml, with one field replaced (`key: value`)."""
    board = yaml.safe_load((hostile.SHIPPED / "boards.yaml").read_text(encoding="utf-8"))[0]
    key, value = change.split(": ", 1)
    return hostile.dump([dict(board, **{key: yaml.safe_load(value)})])


def _write(d: Path, name: str, data: str | bytes) -> None:
    (d / name).write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))


FILES = {
    "bom": lambda d: _write(d, "x-models.yaml", b"\xef\xbb\xbf" + _model_text().encode()),
    "crlf": lambda d: _write(d, "x-models.yaml", _model_text().replace("\n", "\r\n")),
    "tabs": lambda d: _write(d, "x-models.yaml", _model_text().replace("  ", "\t")),
    "empty": lambda d: _write(d, "x-models.yaml", ""),
    "only_comments": lambda d: _write(d, "x-models.yaml", "# nothing here\n# at all\n"),
    "python_object_tag": lambda d: _write(d, "x-models.yaml", "- !!python/object/apply:os.system ['echo hi']\n"),
    "python_name_tag": lambda d: _write(d, "x-models.yaml", "- id: !!python/name:os.system\n"),
    "binary_tag": lambda d: _write(d, "x-models.yaml", _model_text().replace("name: ", "name: !!binary aGk= #", 1)),
    "set_tag": lambda d: _write(d, "x-models.yaml", "- !!set {a, b}\n"),
    "anchor_and_alias": lambda d: _write(d, "x-models.yaml", _shared_blocks()),
    "alias_of_a_whole_entry": lambda d: _write(d, "x-models.yaml", "- &e\n  " + _model_text()[2:] + "- *e\n"),
    "merge_key": lambda d: _write(d, "x-models.yaml", "- &base\n  " + _model_text()[2:] + "- <<: *base\n  id: merged-copy\n"),
    "timestamp_for_a_date": lambda d: _write(d, "x-models.yaml",
                                             re.sub(r"released: (\S+)", r"released: \1T10:00:00Z", _model_text())),
    "nan_in_seed": lambda d: _write(d, "x-models.yaml", _model_text().replace("seed:", "seed:\n    odd: .nan", 1)),
    "date_in_seed": lambda d: _write(d, "x-models.yaml", _model_text().replace("seed:", "seed:\n    when: 2024-01-01", 1)),
    "two_documents": lambda d: _write(d, "x-models.yaml", _model_text() + "---\n" + _model_text()),
    "utf16": lambda d: _write(d, "x-models.yaml", _model_text().encode("utf-16")),
    "nul_byte": lambda d: _write(d, "x-models.yaml", _model_text() + "\x00"),
    "duplicate_id_across_files": lambda d: (_write(d, "a-models.yaml", _model_text()),
                                            _write(d, "b-models.yaml", _model_text().replace("name: ", "name: Copy ", 1))),
    "model_id_of_an_api": lambda d: _write(d, "x-models.yaml", _model_text().replace("id: qwen2-vl-7b", "id: gpt-4o", 1)),
    "folder_named_yaml": lambda d: (d / "x-models.yaml").mkdir(),
    "symlink_loop": lambda d: (os.symlink(d / "b-models.yaml", d / "a-models.yaml"),
                               os.symlink(d / "a-models.yaml", d / "b-models.yaml")),
    "dangling_symlink": lambda d: os.symlink(d / "gone.yaml", d / "a-models.yaml"),
    "dev_zero": lambda d: os.symlink("/dev/zero", d / "z-models.yaml"),  # once: read until memory ran out
    "fifo": lambda d: os.mkfifo(d / "f-models.yaml"),  # once: the read blocked forever
    "dev_null": lambda d: os.symlink("/dev/null", d / "n-models.yaml"),
    "unknown_kind_empty": lambda d: _write(d, "notes.yaml", ""),
    "bool_top_key": lambda d: _write(d, "mixed.yaml", "models: []\ntrue: 1\n"),
    # A boards.yaml among the user's files is checked too: once AttributeError / TypeError in the check.
    "boards_scores_a_list": lambda d: _write(d, "boards.yaml", _board("scores: [1, 2]")),
    "boards_id_a_list": lambda d: _write(d, "boards.yaml", _board("id: [1]")),
    "boards_score_nan": lambda d: _write(d, "boards.yaml", _board("scores: {qwen2-vl-7b: .nan}")),
    "boards_score_huge_int": lambda d: _write(d, "boards.yaml", _board("scores: {qwen2-vl-7b: 1%s}" % ("0" * 400))),
}
VALID = {"bom", "crlf", "empty", "only_comments", "anchor_and_alias", "merge_key", "duplicate_id_across_files"}


def _within(seconds: float, fn):
    """fn() in a thread: a hang is a failure, not a stuck test run."""
    box: dict = {}
    t = threading.Thread(target=lambda: box.update(r=fn()), daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), "hung"
    return box["r"]


@pytest.mark.parametrize("name", sorted(FILES))
@pytest.mark.parametrize("where", ["catalog", "user"])
def test_hostile_files(cli, isolated_user, name, where):
    d = isolated_user / ("config" if where == "user" else "cat")
    d.mkdir()
    FILES[name](d)
    v = _within(20, lambda: cli("catalog", "validate", str(d)))
    no_crash(v, name)
    assert (v.code == 0) == (name in VALID), (name, v.code, v.out, v.err)
    if v.code == 2:
        probs = [line for line in v.err.splitlines() if line.startswith(str(d))]
        assert probs, v.err
    cmds = (("show", "qwen2-vl-7b", "--json"), ("estimate", "qwen2-vl-7b", *GPU)) if name in VALID else (("models",),)
    for args in cmds:
        r = _within(20, lambda a=args: cli(*(() if where == "user" else ("--catalog", str(d))), *a))
        if name in VALID:
            check_answer(r, (name, args))
            assert r.code == 0, (name, args, r.err)
        else:
            no_crash(r, (name, args))
            assert r.code == 2 and "invalid catalog" in r.err, (name, args, r.code, r.err)


def test_an_unreadable_file_is_a_problem_of_that_file(cli, tmp_path, monkeypatch):
    # The tests run as root on CI, where chmod 000 does not stop a read: fail the open itself.
    p = tmp_path / "x-models.yaml"
    p.write_text(_model_text(), encoding="utf-8")
    real_open = open

    def deny(file, *a, **k):
        if str(file) == str(p):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *a, **k)

    monkeypatch.setattr("builtins.open", deny)
    r = cli("catalog", "validate", str(p))
    assert r.code == 2 and f"{p}: cannot be read: Permission denied" in r.err, r.err
    r = cli("--catalog", str(p), "models")
    assert r.code == 2 and "invalid catalog" in r.err and "Permission denied" in r.err


def test_valid_yaml_features_load_as_the_entries_they_spell(cli, tmp_path):
    d = tmp_path / "c"
    d.mkdir()
    FILES["merge_key"](d)
    r = cli("--catalog", str(d), "show", "merged-copy", "--json")
    assert r.code == 0 and r.json()["hf_repo"] == "Qwen/Qwen2-VL-7B-Instruct", r.err
    assert yaml.safe_load((d / "x-models.yaml").read_text())[1]["id"] == "merged-copy"


def test_an_optional_field_set_to_null_reads_as_absent(cli, tmp_path):
    # Once: `base: null` validated (optional) and then `None + int` in the API cost: an internal error.
    api = next(a for a in hostile.shipped("apis") if a["image_tokens"]["rule"] == "openai-tiles")
    p = tmp_path / "x-apis.yaml"
    p.write_text(hostile.dump([hostile.mutate(api, ("image_tokens", "base"), None)]), encoding="utf-8")
    assert check_catalog(cli, p, "apis", api["id"], "null")
