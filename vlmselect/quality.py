"""Task quality with uncertainty: a Bayesian Bradley-Terry fit over comparable evidence.

Evidence comes in pools whose numbers may be compared with each other and nothing else:
one benchmark variant in one mode (`mmbench_v11`, plain, `olmocr_bench`), whoever ran it:
the makers' own numbers from the catalog and the independent leaderboards of catalog/boards.yaml
meet in the same pool (an arena board, whose ratings are relative to its snapshot, is a pool of
its own). Inside a pool every pair of models becomes a soft paired comparison: the share of a
"win" is the probability that the score gap is real given the noise (Thurstone): the board's own
CI between two rows of one evaluator's runs, VENDOR_TAU across sources; for arena ratings the
rating's own win probability. Pairs are weighted: both independent 1.0, any vendor-reported
number VENDOR_WEIGHT (a weaker prior, not a vote of equal standing), a thinking /
chain-of-thought run half again; each pool contributes at most ~POOL_CAP comparisons per model,
so a long table does not drown a short one, and a model counts once per pool (its independent
run before its makers' number). A board that lists a task makes its benchmark evidence for
that task even where the task's own weights do not name it.

Every model and API also plays PRIOR_GAMES drawn games against its prior: a ridge regression
of fitted abilities on size (log2 params, general VLMs only), kind (document specialist: own
intercept, no size slope), generation (release date), API-or-local and the curated capability
rating (a weak prior, never evidence), plus its family's shrunken mean residual. A model with no evidence therefore gets its family/size/generation prior with a
wide interval, never a fixed number.

Ability theta (log-strength) becomes quality = P(beats the task's median evidenced model),
with an interval from the Fisher information of the fit (theta +/- Z se). `quality`'s
lower bound is what the `quality` priority ranks by.
"""


import datetime as dt
import math
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple

# load_boards and validate_boards are re-exported (tests, the catalog loader): `as` says so to mypy.
from vlmselect.boards import _org, load_boards as load_boards, validate_boards as validate_boards
from vlmselect.btfit import ridge, sigmoid, fit

if TYPE_CHECKING:
    from pathlib import Path
    from typing import TypeAlias

    from vlmselect.catalog import ApiSpec, Catalog, ModelSpec, TaskSpec

    Item: TypeAlias = ModelSpec | ApiSpec
    Row: TypeAlias = "tuple[Evidence, float]"  # a piece of evidence and its relevance to the task
    PoolRow: TypeAlias = "tuple[str, Evidence, float]"  # (id, evidence, relevance)

VENDOR_WEIGHT = 0.5  # a vendor-reported pair counts half an independent one
MODE_WEIGHT = {"plain": 1.0, "thinking": 0.5, "cot": 0.5}  # a mode you may not run counts half
POOL_CAP = 6.0  # comparisons one pool gives one model, at most
PRIOR_GAMES = 2.0  # drawn games against the prior: prior sd of theta ~ 1.4 (wide)
Z = 1.2816  # 80 % two-sided interval; its lower end is a 90 % lower confidence bound
VENDOR_TAU = 3.0  # points (0-100 scale) of prompt / harness noise between vendor numbers
MIN_TAU = 0.75  # points: below this a gap is within any benchmark's sampling noise

BENCH_NAMES = {
    "olmocr_bench": "olmOCR-Bench", "omnidocbench": "OmniDocBench", "ocrbench": "OCRBench", "mmbench": "MMBench",
    "mmmu": "MMMU", "mmstar": "MMStar", "docvqa": "DocVQA", "infovqa": "InfoVQA", "textvqa": "TextVQA",
    "chartqa": "ChartQA", "ai2d": "AI2D", "realworldqa": "RealWorldQA", "mathvista": "MathVista",
    "videomme": "Video-MME", "refcoco": "RefCOCO", "vision_arena": "vision arena",
    "charxiv": "CharXiv", "megabench": "MEGA-Bench", "refadv_s": "Ref-Adv-s", "mdpbench": "MDPBench",  # boards.yaml
}


ONCE, ALONE = "once", "alone"  # Evidence.use: shown for provenance, but it moved nothing in the fit


class Evidence(NamedTuple):
    pool: str  # what it may be compared with: benchmark variant + mode, or a board id
    benchmark: str  # the variant key (`mmbench_v11`) or the board's benchmark
    score: float
    independent: bool
    mode: str
    date: str
    source: str
    board: str = ""  # board id, or "" for a catalog number
    by: str = ""  # who ran it, in words (boards)
    use: str = ""  # "" compared in the fit; ONCE another row of this model's pool was; ALONE nobody to compare with

    def label(self) -> str:
        """`olmOCR-Bench 82.4, independent run (Ai2), 2025-10` / `MMBench v11 84.5, vendor-reported, 2025-11`."""
        name = _bench_name(self.benchmark)
        who = (f"independent run ({self.by.split(',')[0].split(' (')[0]})" if self.independent and self.by
               else "independent run" if self.independent else "vendor-reported")
        mode = f", {self.mode} mode" if self.mode != "plain" else ""
        # An edit distance reads the other way round: say so, or 0.121 looks like a failing score.
        lower = " (edit distance: lower is better)" if self.benchmark.endswith(("_edit", "_edit_en")) else ""
        note = {ONCE: " [not counted again: one row per model and benchmark]",
                ALONE: " [compared with nothing: no other model has this number]"}.get(self.use, "")
        return f"{name} {self.score:g}{lower}, {who}{mode}, {self.date[:7]}{note}"


@lru_cache(maxsize=256)
def _bench_name(key: str) -> str:
    """`mmbench_v11` -> `MMBench v11`, `olmocr_bench` -> `olmOCR-Bench`."""
    k = next((k for k in BENCH_NAMES if key.startswith(k)), "")
    return f"{BENCH_NAMES.get(k, key)} {key[len(k):].strip('_').replace('_', ' ') if k else ''}".strip()


class Quality(NamedTuple):
    estimate: float  # 0..1, P(beats the median evidenced model for this task)
    low: float  # lower end of the 80 % interval: the `quality` priority ranks by this
    high: float
    theta: float
    se: float
    prior: float  # the prior's quality (0..1), what the model would get with no evidence
    basis: str  # "independent" | "vendor" | "prior"
    evidence: tuple[Evidence, ...]  # strongest first

    def summary(self) -> str:
        """One phrase for `why`: the strongest evidence, or that there is none."""
        if not self.evidence:
            return f"no evidence: family/size prior {self.estimate:.2f} (range {self.low:.2f}-{self.high:.2f})"
        if self.evidence[0].use:  # sorted compared-first: nothing here was compared with another model
            return (f"{self.evidence[0].label()}: no comparable evidence, family/size prior {self.estimate:.2f} "
                    f"(range {self.low:.2f}-{self.high:.2f})")
        more = f" (+{len(self.evidence) - 1} more)" if len(self.evidence) > 1 else ""
        return f"{self.evidence[0].label()}{more}"


# ---------------------------------------------------------------- evidence per task


def _relevance(key: str, task: "TaskSpec") -> float:
    """The task's weight for a benchmark variant: `mmbench_v10` counts for a task listing `mmbench_v11`."""
    w = task.rank_benchmarks
    top = max(w.values(), default=1.0) or 1.0  # the task's main benchmark counts fully, the others by their ratio
    if key in w:
        return float(w[key]) / top
    base = key.split("_")[0]
    return max((float(v) / top for k, v in w.items() if k.split("_")[0] == base), default=0.0)


def gather(items: "dict[str, Item]", boards: list[dict[str, Any]], task: "TaskSpec",
           as_of: dt.date | None = None) -> "dict[str, list[Row]]":
    """id -> [(Evidence, relevance)] for one task; nothing dated after `as_of`."""
    cutoff = str(as_of) if as_of else None
    out: dict[str, list[Row]] = {i: [] for i in items}
    # A board that speaks to this task makes its benchmark evidence for it, whoever ran the number:
    # the makers' own runs of that benchmark join the board's pool (at the vendor weight).
    board_rel = {b["benchmark"]: 1.0 for b in boards if task.id in b["tasks"] and b.get("metric_kind") != "arena"}
    for iid, it in items.items():
        meta = getattr(it, "benchmark_meta", {}) or {}
        for key, score in it.benchmarks.items():
            rel = _relevance(key, task) or board_rel.get(key, 0.0)
            m = meta.get(key, {})
            date = m.get("date", str(it.released)[:7])
            if rel <= 0 or (cutoff and date > cutoff):
                continue
            mode = m.get("mode", "plain")
            out[iid].append((Evidence(f"{key}|{mode}", key, float(score), m.get("by") == "independent", mode, date,
                                      it.benchmark_sources.get(key, "")), rel))
    for b in boards:
        if task.id not in b["tasks"] or (cutoff and b["date"] > cutoff):
            continue
        rel = _relevance(b["benchmark"], task) or 1.0
        # One pool per benchmark variant: a board's rows meet the same benchmark's other runs (another
        # board of it, the makers' own numbers) at the cross-source noise; arena ratings are relative
        # to their own snapshot, so each arena board stays a pool of its own.
        mode = b.get("mode", "plain")  # a board whose every row is a thinking run says so
        pool = b["id"] if b.get("metric_kind") == "arena" else f"{b['benchmark']}|{mode}"
        for iid, score in b["scores"].items():
            if iid in out:
                out[iid].append((Evidence(pool, b["benchmark"], float(score), iid not in (b.get("vendor_runs") or ()),
                                          mode, b["date"], b["source"], b["id"], b.get("by", "")), rel))
    return out


def _tau(board: dict[str, Any] | None, scale: float) -> float:
    """Noise (points on a 0-100 scale) of a score difference inside one board run."""
    if board and board.get("ci"):
        return max(float(board["ci"]) * 100.0 / scale * 0.72, MIN_TAU)  # a 95 % CI -> sd of a difference
    return VENDOR_TAU


def _pools(evidence: "dict[str, list[Row]]") -> "dict[str, list[PoolRow]]":
    """pool -> [(id, Evidence, relevance)], one row per model per pool: its independent run before
    its makers' number, the latest run first (Ai2 print olmOCR 2's 82.4 in two READMEs: one result,
    not two votes)."""
    best: dict[tuple[str, str], PoolRow] = {}
    for iid, evs in evidence.items():
        for ev, rel in evs:
            k = (ev.pool, iid)
            if k not in best or (ev.independent, ev.date) > (best[k][1].independent, best[k][1].date):
                best[k] = (iid, ev, rel)
    pools: dict[str, list[PoolRow]] = {}
    for (pool, _), row in best.items():
        pools.setdefault(pool, []).append(row)
    return pools


def _marked(evidence: "dict[str, list[Row]]", pools: "dict[str, list[PoolRow]]") -> "dict[str, list[Row]]":
    """The evidence with `use` set: what the fit compared, and what it shows only for provenance
    (a duplicate row of a pool, or a number no other model shares), so `why` never presents a
    number that moved nothing as the reason for a rank."""
    used = {(pool, iid): ev for pool, rows in pools.items() for iid, ev, _ in rows}
    size = {pool: len(rows) for pool, rows in pools.items()}
    out: dict[str, list[Row]] = {}
    for iid, evs in evidence.items():
        out[iid] = [(ev._replace(use=ALONE if size.get(ev.pool, 0) < 2 else "" if used.get((ev.pool, iid)) is ev
                                 else ONCE), rel) for ev, rel in evs]
    return out


def _pairs(evidence: "dict[str, list[Row]]", boards: dict[str, dict[str, Any]]) -> list[tuple[str, str, float, float]]:
    """(i, j, weight, share of i winning) for every comparable pair."""
    pools = _pools(evidence)
    out = []
    for rows in pools.values():
        n = len(rows)
        if n < 2:
            continue
        bs = [boards[r[1].board] for r in rows if r[1].board in boards]
        hi = bs[0].get("higher_is_better", True) if bs else not rows[0][1].benchmark.endswith(("_edit", "_edit_en"))
        scores = [r[1].score for r in rows]
        scale = 1000.0 if max(scores) > 100 else 1.0 if max(scores) <= 1.0 else 100.0
        arena = bool(bs and bs[0].get("metric_kind") == "arena")
        cap = min(1.0, POOL_CAP / (n - 1))
        for a in range(len(rows)):
            for b in range(a + 1, len(rows)):
                (i, ei, ri), (j, ej, rj) = rows[a], rows[b]
                bi, bj = boards.get(ei.board), boards.get(ej.board)
                same_run = bool(bi and bj and (bi is bj or _org(ei.by) == _org(ej.by)))  # one evaluator's harness
                tau = max(_tau(bi, scale), _tau(bj, scale)) if same_run else VENDOR_TAU
                d = (ei.score - ej.score) * (1 if hi else -1)
                if arena:
                    share = 1.0 / (1.0 + 10 ** (-d / 400.0))
                else:
                    share = 0.5 * (1.0 + math.erf(d * 100.0 / scale / tau / math.sqrt(2)))
                src = 1.0 if ei.independent and ej.independent else VENDOR_WEIGHT
                w = cap * min(ri, rj) * src * MODE_WEIGHT.get(ei.mode, 0.5)
                out.append((i, j, w, share))
    return out


# ---------------------------------------------------------------- the prior


def _features(it: "Item", task: "TaskSpec") -> list[float]:
    # Only the capabilities the entry is rated on: an API entry with no `latex` rating is unrated
    # there, not rated 0 (issue 9: that put every API below Gemma 3 12B for PDFs).
    caps = {c: w for c, w in task.rank_capabilities.items() if c in it.capabilities}
    wsum = sum(caps.values())
    cap = sum(w * min(it.cap(c), 3) / 3 for c, w in caps.items()) / wsum if wsum else 0.5
    params = getattr(it, "params_total_b", None)
    api = 0.0 if params else 1.0
    years = (it.released - dt.date(2024, 1, 1)).days / 365.25
    # Kind: a document specialist (rated for documents, not for general images) gets its own
    # intercept and no size slope. The slope is learned on general VLMs, where size buys breadth;
    # a 0.9-3B page parser is small by design, not for want of capacity (issue 9: the size prior
    # put every general VLM above PaddleOCR-VL and dots.ocr for documents).
    spec = 1.0 if is_specialist(it) else 0.0
    return [1.0, math.log2(params) if params and not spec else 0.0, api, years, cap, spec]


def is_specialist(it: "Item") -> bool:
    """A document / OCR specialist: rated 2+ for documents and at most 1 for general single images."""
    c = getattr(it, "capabilities", {}) or {}
    return bool(c.get("documents", 0) >= 2 and c.get("single_image", 3) <= 1)


def task_qualities(items: "dict[str, Item]", boards: list[dict[str, Any]], task: "TaskSpec",
                   as_of: dt.date | None = None) -> dict[str, Quality]:
    """Quality of every id in `items` (models and APIs) for `task`."""
    evidence = gather(items, boards, task, as_of)
    pairs = _pairs(evidence, {b["id"]: b for b in boards})
    evidence = _marked(evidence, _pools(evidence))
    ids = list(items)
    # 1. evidence alone (flat prior) -> 2. regress abilities on size/generation/capability -> 3. refit
    theta0, se0 = fit(ids, pairs, {}, PRIOR_GAMES)
    paired = {i for i, j, _, _ in pairs} | {j for i, j, _, _ in pairs}
    known = [i for i in ids if i in paired]  # a lone number compares with nothing: it moves no one else
    feats = {i: _features(items[i], task) for i in ids}
    # An API's size is unknown: give it the evidenced local models' mean log-size, so the API
    # flag measures a difference from an average model rather than from a 1B one.
    general = [i for i in ids if feats[i][2] == 0.0 and not feats[i][5]]
    sizes = [feats[i][1] for i in known if i in general] or [feats[i][1] for i in general] or [0.0]
    for i in ids:
        if feats[i][2] == 1.0:
            feats[i][1] = sum(sizes) / len(sizes)
    if len(known) >= 3:
        beta = ridge([feats[i] for i in known], [theta0[i] for i in known], [1.0 / se0[i] ** 2 for i in known])
    else:
        beta = [0.0] * len(feats[ids[0]]) if ids else []
    reg = {i: sum(b * x for b, x in zip(beta, feats[i])) for i in ids}
    fam_res: dict[str | None, list[float]] = {}
    for i in known:
        fam = getattr(items[i], "family", None) or getattr(items[i], "provider", None)
        if fam:
            fam_res.setdefault(fam, []).append(theta0[i] - reg[i])
    prior = {}
    for i in ids:
        fam = getattr(items[i], "family", None) or getattr(items[i], "provider", None)
        res = fam_res.get(fam, []) if fam else []
        prior[i] = reg[i] + (sum(res) / (len(res) + 1.0) if res else 0.0)  # shrunk toward 0 by one pseudo-member
    theta, se = fit(ids, pairs, prior, PRIOR_GAMES)
    ref = sorted(theta[i] for i in known)[len(known) // 2] if known else 0.0
    out = {}
    for i in ids:
        # What the fit compared first (independent, plain, most relevant), then what it only shows.
        evs = sorted(evidence[i], key=lambda er: (er[0].use != "", not er[0].independent, er[0].mode != "plain",
                                                  -er[1], er[0].date))
        basis = "prior" if not evs or evs[0][0].use else ("independent" if evs[0][0].independent else "vendor")
        out[i] = Quality(sigmoid(theta[i] - ref), sigmoid(theta[i] - Z * se[i] - ref),
                         sigmoid(theta[i] + Z * se[i] - ref), theta[i], se[i], sigmoid(prior[i] - ref), basis,
                         tuple(e for e, _ in evs))
    return out


# ---------------------------------------------------------------- per catalog, cached

CACHE_VERSION = 5  # bump when the fit or its constants change
_MEMO: dict[str, dict[str, Quality]] = {}  # this process's fits (the same catalog is ranked many times in one test run)


def for_task(catalog: "Catalog", task: "TaskSpec", as_of: dt.date | None = None,
             boards_path: "str | Path | None" = None) -> dict[str, Quality]:
    """`task_qualities` for every model and API in `catalog`; the fit is cached as JSON (it
    costs a few hundred ms, recommend's start-up budget is smaller) and redone when any
    catalog file, the boards or this module's constants change."""
    import json
    import os
    import zlib
    from pathlib import Path

    from vlmselect import __version__
    from vlmselect.catalog import shipped_dir
    from vlmselect.paths import read_small_file, user_dir

    bpath = Path(boards_path) if boards_path else shipped_dir() / "boards.yaml"
    stamp = []
    for f in [*catalog.files, str(bpath)]:
        try:
            st = os.stat(f)
            stamp.append(f"{f}:{st.st_size}:{st.st_mtime_ns}")
        except OSError:
            stamp.append(f"{f}:-")
    key = f"{CACHE_VERSION}:{__version__}:{task.id}:{as_of}:{sorted(task.rank_benchmarks.items())}:" \
          f"{sorted(task.rank_capabilities.items())}:{'|'.join(stamp)}"
    if key in _MEMO:
        return _MEMO[key]
    crc = zlib.crc32(key.encode("utf-8", "surrogateescape"))  # the key holds file names, which need not be UTF-8
    cf = user_dir("cache") / f"quality-{task.id}-{crc:08x}.json"
    try:
        text = read_small_file(cf, 64 * 2**20)  # None: not a plain file (a FIFO would block the read)
        data = json.loads(text) if text is not None else None
        if isinstance(data, dict) and data.get("key") == key:
            _MEMO[key] = {i: Quality._make([*v[:7], tuple(Evidence(*e) for e in v[7])]) for i, v in data["q"].items()}
            return _MEMO[key]
    except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError):
        pass  # damaged, or written by another version (JSON of another shape): fit again and overwrite it
    items: dict[str, Item] = {**catalog.models, **catalog.apis}
    out = _MEMO[key] = task_qualities(items, load_boards(bpath), task, as_of)
    try:
        cf.parent.mkdir(parents=True, exist_ok=True)
        tmp = cf.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"key": key, "q": {i: list(q[:7]) + [[list(e) for e in q.evidence]]
                                                      for i, q in out.items()}}), encoding="utf-8")
        tmp.replace(cf)
    except OSError:
        pass  # a read-only home only costs time
    return out
