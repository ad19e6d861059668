"""Read catalog files safely, validate them, cache what passed, and overlay them by id.

Every command loads the catalog (the user's config directory included), so one hostile or
broken file must end in a clear message, never a hang or a crash: files are size-limited,
UTF-8 checked, and their YAML event stream is measured (nesting depth, alias expansion)
before anything is built from it. Validated entries are cached as JSON (never pickle); a
valid cache is read without importing YAML or pydantic.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from vlmselect.catalog.build import BUILD
from vlmselect.catalog.problems import Problems
from vlmselect.catalog.specs import KINDS, Catalog
from vlmselect.errors import UsageError

MAX_FILE_BYTES = 4 * 2**20  # the shipped models.yaml is ~0.3 MB; parsing costs about 1 s per MB
MAX_NODES = 1_000_000  # YAML nodes after alias expansion (the shipped catalog has ~60 000)
MAX_DEPTH = 64  # nesting; a catalog entry is at most ~6 deep
CACHE_SCHEMA = 4  # bump when validation or the entry format changes
CACHE_MAX_BYTES = 64 * 2**20  # a cached file's JSON is about its YAML's size (at most MAX_FILE_BYTES)

Tables = dict[str, list[dict[str, Any]]]


def _line(ev: Any) -> int | None:
    mark = getattr(ev, "start_mark", None)
    return mark.line + 1 if mark is not None else None


def _measure(text: str, problems: Problems) -> bool:
    """Walk the YAML event stream (no objects built): depth, and nodes as they would be once
    every alias is expanded. An alias bomb is a few KB that expands to gigabytes."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    sizes: dict[str, int] = {}  # anchor -> expanded node count
    # Per open collection: [anchor, nodes so far, keys seen (mappings only), next node is a key].
    # YAML loaders keep the last of two equal keys silently; a catalog must not lose a fact that way.
    stack: list[list[Any]] = [[None, 0, None, False]]
    total = 0
    try:
        for ev in yaml.parse(text, Loader=loader):
            if isinstance(ev, yaml.CollectionStartEvent):
                is_map = isinstance(ev, yaml.MappingStartEvent)
                stack.append([ev.anchor, 0, set() if is_map else None, is_map])
                if len(stack) > MAX_DEPTH + 1:
                    problems.add_line(_line(ev), f"nested deeper than {MAX_DEPTH} levels")
                    return False
                continue
            if isinstance(ev, yaml.CollectionEndEvent):
                anchor, n, _, _ = stack.pop()
                n += 1
                if anchor:
                    sizes[anchor] = n
            elif isinstance(ev, yaml.ScalarEvent):
                n = 1
                if ev.anchor:
                    sizes[ev.anchor] = 1
                keys = stack[-1][2]
                if keys is not None and stack[-1][3]:
                    if ev.value in keys:
                        problems.add_line(_line(ev), f"duplicate key {ev.value!r}: YAML would keep only the last one")
                    keys.add(ev.value)
            elif isinstance(ev, yaml.AliasEvent):
                if ev.anchor not in sizes:  # an alias inside its own anchor: infinite
                    problems.add_line(_line(ev), f"alias *{ev.anchor} refers to itself or to nothing")
                    return False
                n = sizes[ev.anchor]
            else:
                continue
            parent = stack[-1]
            if parent[2] is not None:
                parent[3] = not parent[3]  # a mapping alternates key, value
            parent[1] += n
            total += n
            if total > MAX_NODES or parent[1] > MAX_NODES:
                problems.add_line(_line(ev), f"expands to more than {MAX_NODES:,} YAML nodes "
                                  "(aliases repeated within aliases?); write the entries out")
                return False
    except yaml.YAMLError:
        pass  # the full parse below reports it with its line
    return True


def read_yaml(path: Path) -> tuple[Any, Problems]:
    """The parsed content of one file and the problems found reading it."""
    import yaml  # only when a file changed: validated files come from the JSON cache

    p = Problems(str(path), "")
    try:
        st = path.stat()
        if stat.S_ISDIR(st.st_mode):
            p.add(None, None, None, "is a folder, not a catalog file (rename it, or move it elsewhere)")
            return None, p
        if not stat.S_ISREG(st.st_mode):
            # A pipe would block the read forever, /dev/zero would fill memory: only plain files are read.
            p.add(None, None, None, "is not a plain file (a device, pipe or socket); a catalog is a YAML file")
            return None, p
        size = st.st_size
        if size <= MAX_FILE_BYTES:
            with open(path, "rb") as f:
                raw = f.read(MAX_FILE_BYTES + 1)  # the file may grow between stat and read
            size = max(size, len(raw))
        if size > MAX_FILE_BYTES:
            p.add(None, None, None, f"is {size / 2**20:.1f} MB; a catalog file may be at most "
                  f"{MAX_FILE_BYTES // 2**20} MB (split it into several files)")
            return None, p
    except OSError as exc:
        p.add(None, None, None, f"cannot be read: {exc.strerror or exc} (check the path and its permissions)")
        return None, p
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        p = Problems(str(path), "")
        line = raw[:exc.start].count(b"\n") + 1
        p.add_line(line, f"is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
                   "save it as UTF-8 YAML")
        return None, p
    problems = Problems(str(path), text)
    if "\x00" in text:
        problems.add(None, None, None, "is a binary file, not YAML")
        return None, problems
    if not _measure(text, problems) or problems.items:
        return None, problems
    try:
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        what = getattr(exc, "problem", None) or exc
        problems.add_line(mark.line + 1 if mark else None, f"YAML syntax error: {what}")
        data = None
    except RecursionError:
        problems.add(None, None, None, "is nested too deeply to read")
        data = None
    return data, problems


def kind_of(path: Path) -> str | None:
    """Which table a file holds, by its name (models.yaml, 2026-models.yaml); None: a mapping of tables."""
    stem = path.stem.lower()
    for kind in KINDS:
        if stem == kind or stem.endswith("-" + kind) or stem.endswith("_" + kind):
            return kind
    return None


def _cache_file(path: Path) -> Path:
    import zlib  # a file name, not security: crc32 is enough and cheaper to import than hashlib

    from vlmselect.paths import user_dir

    where = os.fsencode(path.resolve())  # not str.encode(): a file name need not be UTF-8 (it fails on b'\xff')
    return user_dir("cache") / f"catalog-{path.stem}-{zlib.crc32(where):08x}.json"


def _cache_key(path: Path) -> str:
    from vlmselect import __version__

    st = path.stat()
    return f"{CACHE_SCHEMA}:{__version__}:{st.st_size}:{st.st_mtime_ns}"


# In-process memo: a test session (or any long-lived caller) parses each unchanged file once.
_MEMO: dict[str, tuple[str, Tables]] = {}


def clear_memo() -> None:
    _MEMO.clear()


def _cached(path: Path) -> Tables | None:
    """The validated entries of `path` from the last load, if the file has not changed since."""
    import json

    try:
        key = _cache_key(path)
        memo = _MEMO.get(str(path))
        if memo and memo[0] == key:
            return memo[1]
        from vlmselect.paths import read_small_file

        text = read_small_file(_cache_file(path), CACHE_MAX_BYTES)  # a FIFO or /dev/zero there must not hang us
        data = json.loads(text) if text is not None else None
        if not isinstance(data, dict) or data.get("key") != key:
            return None
        _MEMO[str(path)] = (key, data["tables"])
        return data["tables"]  # type: ignore[no-any-return]
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return None  # damaged (RecursionError: JSON nested deeper than the parser goes): parse the YAML again


def _as_json(tables: Tables) -> Tables:
    """Validated entries as JSON carries them (dates as ISO strings): the shape every load returns,
    cached or not, so the specs built from them (and `show --json`) never differ."""
    import json

    return json.loads(json.dumps(tables, default=str))  # type: ignore[no-any-return]


def _store(path: Path, tables: Tables) -> Tables:
    """Remember validated entries as JSON (never pickle): parsing YAML is most of a cold start."""
    import json

    plain = _as_json(tables)
    try:
        key = _cache_key(path)
        _MEMO[str(path)] = (key, plain)  # the same shape a later run reads back
        cf = _cache_file(path)
        cf.parent.mkdir(parents=True, exist_ok=True)
        tmp = cf.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"key": key, "tables": plain}), encoding="utf-8")
        tmp.replace(cf)
    except OSError:
        pass  # a read-only home only costs speed
    return plain


def load_file(path: Path, use_cache: bool = False) -> tuple[Tables, list[str]]:
    """Parse and validate one catalog file: ({kind: [entries]}, problems)."""
    if use_cache:
        cached = _cached(path)
        if cached is not None:
            return cached, []
    data, problems = read_yaml(path)
    if problems.items:
        return {}, problems.items
    if path.name == "boards.yaml":
        # Independent leaderboards, not entries: vlmselect.quality reads and checks them.
        from vlmselect.quality import validate_boards

        bad = [f"{path}: {p}" for p in validate_boards(data)]
        if use_cache and not bad:
            _store(path, {})  # checked: the next start skips YAML for it
        return {}, bad
    from vlmselect.catalog.validate import validate_entries

    kind = kind_of(path)
    tables: Tables = {}
    if kind:
        tables[kind] = validate_entries(kind, data, problems, ())
    elif isinstance(data, dict):
        for key, value in data.items():
            if key not in KINDS:
                problems.add(None, None, None, f"unknown top-level key {key!r} (one of {', '.join(KINDS)})")
                continue
            tables[key] = validate_entries(key, value, problems, (key,))
    else:
        problems.add(None, None, None, "name the file models.yaml, apis.yaml, gpus.yaml or tasks.yaml "
                     "(or NAME-models.yaml ...), or make it a mapping with those keys")
    if problems.items:
        return tables, problems.items
    if use_cache:
        return _store(path, tables), []
    return _as_json(tables), []


def shipped_dir() -> Path:
    """The shipped YAML files: the `vlmselect.catalog_data` package's folder (the repository's
    `catalog/` in an editable install). Its `__file__`, not importlib.resources: the tool is never
    run from a zip, and importlib.resources costs a `recommend` start about 4 ms of imports."""
    import vlmselect.catalog_data as data

    return Path(data.__file__).parent


def user_catalog_paths() -> list[Path]:
    """`*.yaml` in the user's config directory (VLMSELECT_CONFIG_DIR overrides)."""
    from vlmselect.paths import user_dir

    d = user_dir("config")
    return sorted(d.glob("*.yaml")) if d.is_dir() else []


def _expand(p: Path) -> list[Path]:
    if not p.exists():
        raise UsageError(f"catalog file not found: {p}", "pass the path of a YAML catalog file or folder")
    return sorted(p.glob("*.yaml")) if p.is_dir() else [p]


_OTHER = {"models": "apis", "apis": "models"}  # the tables `Catalog.model` searches together
_WHAT = {"models": "a local model", "apis": "an API"}


def load_catalog(extra: list[Path] | None = None, include_user: bool = True) -> Catalog:
    """The shipped catalog, overlaid by the user's files and then `extra`, all validated.
    An overlay entry replaces the entry with the same id, whole."""
    paths = sorted(shipped_dir().glob("*.yaml"))  # every shipped file: new entries can live in files of their own
    if include_user:
        paths += user_catalog_paths()
    for p in extra or []:
        paths += _expand(Path(p))
    cat = Catalog()
    problems: list[str] = []
    for path in paths:
        tables, probs = load_file(path, use_cache=True)
        problems += probs
        cat.files.append(str(path))
        try:
            built = _build(tables, path)
        except Exception:  # noqa: BLE001 - validated entries always build: a retry from the YAML re-raises a real bug
            tables, probs = _reparse(path)
            problems += probs
            built = _build(tables, path)
        for kind, specs in built.items():
            table = getattr(cat, kind)
            for spec in specs:
                other = _OTHER.get(kind)
                clash = getattr(cat, other).get(spec.id) if other is not None else None
                if other is not None and clash is not None:
                    # `show ID` looks in both tables: one id for two things would hide one of them.
                    problems.append(f"{path}: {spec.id}: id already names {_WHAT[other]} (from {clash.origin or 'the catalog'}); "
                                    "a local model and an API need different ids")
                    continue
                table[spec.id] = spec
    if problems:
        raise CatalogError(problems)
    return cat


def _build(tables: Tables, path: Path) -> dict[str, list[Any]]:
    return {kind: [BUILD[kind](e, str(path)) for e in entries] for kind, entries in tables.items()}


def _reparse(path: Path) -> tuple[Tables, list[str]]:
    """The file's entries from its YAML, the cache bypassed and then overwritten. Only a cache holds
    entries that do not build: one damaged, or written by another entry format under the same
    version and CACHE_SCHEMA (a development build); every command would otherwise fail on it."""
    _MEMO.pop(str(path), None)
    tables, probs = load_file(path)
    if not probs:
        _store(path, tables)
    return tables, probs


class CatalogError(UsageError):
    def __init__(self, problems: list[str]):
        n = len(problems)
        super().__init__(
            f"invalid catalog ({n} problem{'s' if n != 1 else ''}):\n  " + "\n  ".join(problems),
            "fix the entries above; the format is described in docs/catalog.md",
        )
        self.problems = problems


def validate_path(path: Path) -> tuple[int, list[str]]:
    """For `vlmselect catalog validate`: (entries that passed, problems)."""
    count, problems = 0, []
    for f in _expand(Path(path)):
        tables, probs = load_file(f)
        problems += probs
        count += sum(len(v) for v in tables.values())
    if not problems:
        # Valid alone; also valid over the shipped catalog (an id it already uses for another kind)?
        try:
            load_catalog([Path(path)], include_user=False)
        except CatalogError as exc:
            problems += exc.problems
    return count, problems
