"""The catalog schema's scalar types: bounded numbers, dates, and the strict name patterns for
everything that ends up in a printed command (repos, GGUF files, Ollama tags). See schema.py."""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
)
from pydantic_core import PydanticCustomError

# ---------------------------------------------------------------- scalar types


def _pattern(regex: str, what: str) -> AfterValidator:
    rx = re.compile(regex)

    def check(v: str) -> str:
        if not rx.fullmatch(v):
            raise PydanticCustomError("cat_pattern", "must be {what}, got {value}", {"what": what, "value": repr(v)})
        return v

    return AfterValidator(check)


def _to_date(v: Any) -> Any:
    # YAML gives dates for unquoted YYYY-MM-DD; a quoted one is accepted too, a number is not.
    # A timestamp is refused, not cut: the entry is used as read (the JSON cache would keep the time).
    if isinstance(v, dt.datetime):
        raise PydanticCustomError("cat_date", "must be a date YYYY-MM-DD without a time, got {value}",
                                  {"value": v.isoformat()})
    if isinstance(v, str):
        try:
            v = dt.date.fromisoformat(v)
        except ValueError:
            raise PydanticCustomError("cat_date", "must be a date YYYY-MM-DD, got {value}", {"value": repr(v)}) from None
    if isinstance(v, dt.date) and not DATE_RANGE[0] <= v <= DATE_RANGE[1]:
        # Release dates feed the quality model's age term: year 1 or 9999 breaks its fit.
        raise PydanticCustomError("cat_date", f"must be a date between {DATE_RANGE[0]} and {DATE_RANGE[1]}, got {{value}}",
                                  {"value": v.isoformat()})
    return v


DATE_RANGE = (dt.date(2000, 1, 1), dt.date(2099, 12, 31))  # releases, prices, deprecations


NonEmpty = Annotated[str, Field(min_length=1), _pattern(r"(?s)\s*\S.*", "a non-empty string")]
Slug = Annotated[str, _pattern(r"[a-z0-9][a-z0-9._-]*", "a lowercase slug (a-z, 0-9, '.', '_', '-')")]
Url = Annotated[str, _pattern(r"https?://[^\s\"'`<>]+", "an http(s) URL without spaces")]
# huggingface_hub's validate_repo_id: letters, digits, '-', '_', '.'; no '--' or '..'; at most 96 chars.
HfRepo = Annotated[str, Field(max_length=96 * 2 + 1), _pattern(
    r"(?!.*(--|\.\.))[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}(?<![.-])",
    "a Hugging Face repo id 'owner/name' (letters, digits, '.', '_', '-')")]
GgufFile = Annotated[str, _pattern(r"(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9_.+-]*(/[A-Za-z0-9][A-Za-z0-9_.+-]*)*\.gguf",
                                   "a .gguf file name (letters, digits, '.', '_', '-', '+', '/')")]
# Ollama model names: [namespace/]name[:tag], the characters ollama's name parser accepts.
OllamaTag = Annotated[str, _pattern(r"([a-z0-9][a-z0-9._-]*/)?[a-z0-9][a-z0-9._-]*(:[A-Za-z0-9][A-Za-z0-9._-]{0,127})?",
                                    "an Ollama tag [namespace/]name[:tag] (no spaces or shell characters)")]
QuantKey = Annotated[str, _pattern(r"[A-Za-z0-9][A-Za-z0-9_.-]*", "a quantization name such as q4_k_m")]
Identifier = Annotated[str, _pattern(r"[A-Za-z_][A-Za-z0-9_]*", "a Python class name")]
Version = Annotated[str, _pattern(r"\d+(\.\d+)*([a-z0-9.+-]*)", "a version such as \"4.45.0\" (quoted)")]
PipName = Annotated[str, _pattern(r"[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9,._-]+\])?", "a pip package name")]
Date = Annotated[dt.date, BeforeValidator(_to_date)]
# A publication date: YYYY-MM-DD, or YYYY-MM where only the month is printed (kept as text).
PubDate = Annotated[str, BeforeValidator(lambda v: _to_date(v).isoformat() if isinstance(v, dt.date) else v),
                    _pattern(r"\d{4}-(0[1-9]|1[0-2])(-\d{2})?", "a date YYYY-MM or YYYY-MM-DD")]
# Every number within bounds far beyond any real model, GPU, price or score, and far from where the
# estimator's float arithmetic would overflow (a product of a few catalog numbers stays finite) or
# its loops would run long: YAML reads `1e400` as inf and an int of any size as itself.
MAX_INT = 2**31 - 1  # context windows reach 10M tokens; layers, heads and pixels far less
NUM_RANGE = (1e-12, 1e12)  # billions of parameters, GB, GB/s, TFLOPS, watts, USD per Mtok, scores


def _num_range(zero_ok: bool) -> AfterValidator:
    lo, hi = NUM_RANGE

    def check(v: float) -> float:
        if not (lo <= v <= hi or (zero_ok and v == 0)):
            what = "0 or between" if zero_ok else "between"
            raise PydanticCustomError("cat_range", f"must be {what} {lo:g} and {hi:g}, got {{value}}", {"value": repr(v)})
        return v

    return AfterValidator(check)


def at_most(hi: int) -> AfterValidator:
    def check(v: int) -> int:
        if v > hi:
            raise PydanticCustomError("cat_range", "must be at most {hi}, got {value}",
                                      {"hi": hi, "value": repr(v) if v < 10**30 else f"a {len(str(v))}-digit number"})
        return v

    return AfterValidator(check)


PosInt = Annotated[int, Field(gt=0), at_most(MAX_INT)]
NonNegInt = Annotated[int, Field(ge=0), at_most(MAX_INT)]
PosNum = Annotated[float, Field(gt=0, allow_inf_nan=False), _num_range(zero_ok=False)]
NonNegNum = Annotated[float, Field(ge=0, allow_inf_nan=False), _num_range(zero_ok=True)]



def _plain(v: Any, where: str = "") -> Any:
    """JSON-plain data (text, finite numbers, true/false, null, lists, mappings with text keys): what
    `show --json` prints verbatim, so NaN, dates, sets and binary would not be JSON."""
    if isinstance(v, dict):
        for k, x in v.items():
            if not isinstance(k, str):
                raise PydanticCustomError("cat_plain", "key {key} must be text", {"key": repr(k)})
            _plain(x, f"{where}.{k}" if where else k)
    elif isinstance(v, list):
        for i, x in enumerate(v):
            _plain(x, f"{where}[{i}]")
    elif isinstance(v, float) and not math.isfinite(v):
        raise PydanticCustomError("cat_plain", "{where} must be a finite number, got {value}",
                                  {"where": where or "value", "value": repr(v)})
    elif not isinstance(v, (str, int, float, bool, type(None))):
        raise PydanticCustomError("cat_plain", "{where} must be text, a number, true/false, a list or a mapping, "
                                  "got a {what}", {"where": where or "value", "what": type(v).__name__})
    return v


# Free-form data kept verbatim (the seed document's claims).
Plain = Annotated[dict[str, Any], AfterValidator(_plain)]
# The seed's claims that the code reads as numbers: `models` compares them with the estimate
# (catalog_views.seed_check divides by them): 0 once divided by zero, 10**400 overflowed.
SEED_NUMBERS = ("vram_fp16_gb", "vram_q4_gb")


def _seed_numbers(v: dict[str, Any]) -> dict[str, Any]:
    lo, hi = NUM_RANGE
    for key in SEED_NUMBERS:
        x = v.get(key)
        if x is not None and (isinstance(x, bool) or not isinstance(x, (int, float)) or not lo <= x <= hi):
            raise PydanticCustomError("cat_range", f"{{key}} must be a number of GB between {lo:g} and {hi:g}, got {{value}}",
                                      {"key": key, "value": repr(x) if not isinstance(x, int) or x < 10**30
                                       else f"a {len(str(x))}-digit number"})
    return v


Seed = Annotated[dict[str, Any], AfterValidator(_plain), AfterValidator(_seed_numbers)]


def _level(v: int) -> int:
    if not 0 <= v <= 3:
        raise PydanticCustomError("cat_pattern", "must be 0, 1, 2 or 3, got {value}", {"value": repr(v)})
    return v


CapLevel = Annotated[int, AfterValidator(_level)]
MAX_SIDE = 2**16  # pixels per image side; the CLI takes at most 32768
Size = Annotated[list[Annotated[int, Field(gt=0), at_most(MAX_SIDE)]], Field(min_length=2, max_length=2)]  # [w, h]


class Strict(BaseModel):
    """Every block: strict types, unknown keys rejected."""

    model_config = ConfigDict(strict=True, extra="forbid", populate_by_name=True)
