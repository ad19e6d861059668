"""The catalog schema's scalar types: bounded numbers, dates, and the strict name patterns for
everything that ends up in a printed command (repos, GGUF files, Ollama tags). See schema.py."""

from __future__ import annotations

import datetime as dt
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
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, str):
        try:
            return dt.date.fromisoformat(v)
        except ValueError:
            raise PydanticCustomError("cat_date", "must be a date YYYY-MM-DD, got {value}", {"value": repr(v)}) from None
    return v


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
PubDate = Annotated[str, BeforeValidator(lambda v: v.isoformat()[:10] if isinstance(v, dt.date) else v),
                    _pattern(r"\d{4}-(0[1-9]|1[0-2])(-\d{2})?", "a date YYYY-MM or YYYY-MM-DD")]
PosInt = Annotated[int, Field(gt=0)]
NonNegInt = Annotated[int, Field(ge=0)]
PosNum = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNegNum = Annotated[float, Field(ge=0, allow_inf_nan=False)]


def _level(v: int) -> int:
    if not 0 <= v <= 3:
        raise PydanticCustomError("cat_pattern", "must be 0, 1, 2 or 3, got {value}", {"value": repr(v)})
    return v


CapLevel = Annotated[int, AfterValidator(_level)]
Size = Annotated[list[PosInt], Field(min_length=2, max_length=2)]  # [width, height]


class Strict(BaseModel):
    """Every block: strict types, unknown keys rejected."""

    model_config = ConfigDict(strict=True, extra="forbid", populate_by_name=True)
