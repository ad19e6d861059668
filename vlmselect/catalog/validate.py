"""Validate the entries of one catalog table against the schema; turn pydantic's errors into
one line each: file:line: id field: what is wrong (and what is allowed)."""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from vlmselect.catalog.problems import Loc, Problems
from vlmselect.catalog.schema import ENTRY_TYPES
from vlmselect.catalog.specs import API_RULES, LOCAL_RULES


def validate_entries(kind: str, data: Any, problems: Problems, prefix: Loc) -> list[dict[str, Any]]:
    """The entries of one table that passed; every problem goes into `problems`."""
    if data is None:
        return []
    if not isinstance(data, list):
        problems.add(prefix or None, None, None, f"must be a list of {kind} entries, got {type(data).__name__}")
        return []
    schema = ENTRY_TYPES[kind]
    good: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, entry in enumerate(data):
        loc = (*prefix, i)
        if not isinstance(entry, dict):
            problems.add(loc, None, None, f"each entry must be a mapping, got {type(entry).__name__}")
            continue
        eid = entry.get("id") if isinstance(entry.get("id"), str) else None
        before = len(problems.items)
        try:
            schema.model_validate(entry)
        except ValidationError as exc:
            for err in exc.errors(include_url=False):
                path, field_loc = _field_path(entry, err["loc"])
                if err["type"] in _RULE_ERRORS and path == "image_tokens":
                    path, field_loc = "image_tokens.rule", (*field_loc, "rule")
                problems.add((*loc, *field_loc), eid, path, _message(kind, schema, err, entry))
        if eid is not None:
            if eid in seen:
                problems.add((*loc, "id"), eid, "id", "duplicate id in this file")
            seen.add(eid)
        if len(problems.items) == before:
            good.append(_drop_nulls(entry))
    return good


def _drop_nulls(v: Any, key: str = "") -> Any:
    """`field: null` means the field is absent, as the schema reads it: readers use .get(k, default),
    which a present None would defeat. The seed's own claims are kept verbatim."""
    if isinstance(v, dict) and key != "seed":
        return {k: _drop_nulls(x, k) for k, x in v.items() if x is not None}
    if isinstance(v, list):
        return [_drop_nulls(x) for x in v]
    return v


_RULE_ERRORS = ("rule", "union_tag_invalid", "union_tag_not_found")


def _field_path(entry: Any, loc: tuple[Any, ...]) -> tuple[str, Loc]:
    """pydantic's loc -> ("runners.ollama[0].tag", loc in the data). Parts that are not in the
    data (a union's tag, a validator's name) are dropped, except a missing last key."""
    node, out = entry, []
    for j, part in enumerate(loc):
        if isinstance(node, dict) and part in node:
            node = node[part]
            out.append(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
            out.append(part)
        elif j == len(loc) - 1 and isinstance(part, str) and part != "[key]" and isinstance(node, dict):
            out.append(part)  # a missing or unknown key
    text = ""
    for part in out:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text, tuple(out)


def _short(v: Any) -> str:
    r = repr(v)
    return r if len(r) <= 60 else r[:57] + "..."


def _message(kind: str, schema: type[BaseModel], err: Any, entry: dict[str, Any]) -> str:
    t, msg = err["type"], err["msg"]
    if t == "missing":
        return "is required"
    if t == "extra_forbidden":
        key = str(err["loc"][-1])
        allowed = _allowed(schema, err["loc"][:-1])
        near = difflib.get_close_matches(key, allowed, n=1)
        hint = f"did you mean {near[0]!r}? " if near else ""
        return f"unknown field ({hint}allowed here: {', '.join(allowed)})" if allowed else "unknown field"
    if t in _RULE_ERRORS:
        rule = entry.get("image_tokens", {}).get("rule") if isinstance(entry.get("image_tokens"), dict) else None
        own, other = (LOCAL_RULES, API_RULES) if kind == "models" else (API_RULES, LOCAL_RULES)
        if rule is None:
            return f"needs `rule:` (one of {', '.join(own)})"
        if rule in other:
            what = "a hosted API's billing rule" if kind == "models" else "a local model's preprocessing rule"
            return f"rule {rule!r} is {what}; use one of {', '.join(own)}"
        return f"unknown rule {_short(rule)} (one of {', '.join(own)})"
    if t.startswith("cat_"):  # our own messages, already complete
        return str(msg)
    got = f", got {_short(err.get('input'))}" if not isinstance(err.get("input"), (dict, list)) else ""
    ctx = err.get("ctx") or {}
    plain = {
        "dict_type": "must be a mapping", "model_type": "must be a mapping", "model_attributes_type": "must be a mapping",
        "int_type": "must be an integer", "float_type": "must be a number", "bool_type": "must be true or false",
        "string_type": "must be a string (quote it)", "date_type": "must be a date YYYY-MM-DD",
        "list_type": "must be a list", "tuple_type": "must be a list", "finite_number": "must be a finite number",
    }
    if t == "float_type" and isinstance(err.get("input"), int) and not isinstance(err.get("input"), bool):
        from vlmselect.catalog.fields import NUM_RANGE

        return f"must be between {NUM_RANGE[0]:g} and {NUM_RANGE[1]:g}, got a {len(str(err['input']))}-digit number"
    if t in plain:
        return plain[t] + (got if t not in ("dict_type", "model_type", "model_attributes_type") or got else
                           f", got a {type(err.get('input')).__name__}")
    if t == "greater_than" and ctx.get("gt") == 0:
        return "must be positive" + got
    if t == "greater_than_equal" and ctx.get("ge") == 0:
        return "must be 0 or more" + got
    if t == "too_short" and ctx.get("min_length") == 1:
        return "must not be empty"
    msg = str(msg)
    text = msg[len("Input "):] if msg.startswith("Input ") else msg
    return text[:1].lower() + text[1:] + got


def _allowed(schema: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The keys the schema allows at `loc` (for 'did you mean')."""
    cands: list[Any] = [schema]
    for part in loc:
        nxt: list[Any] = []
        for tp in _unwrap(cands):
            if isinstance(tp, type) and issubclass(tp, BaseModel):
                for name, f in tp.model_fields.items():
                    if part in (name, f.alias):
                        nxt.append(f.annotation)
                rule = tp.model_fields.get("rule")
                if rule is not None and part in typing.get_args(rule.annotation):
                    nxt.append(tp)  # the union's tag: stay on this rule's model
            elif typing.get_origin(tp) is list and isinstance(part, int):
                nxt += typing.get_args(tp)[:1]
            elif typing.get_origin(tp) is dict and isinstance(part, str):
                nxt += typing.get_args(tp)[1:2]
        cands = nxt
    keys: list[str] = []
    for tp in _unwrap(cands):
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            keys += [f.alias or n for n, f in tp.model_fields.items() if (f.alias or n) not in keys]
    return keys


def _unwrap(cands: list[Any]) -> list[Any]:
    out: list[Any] = []
    todo = list(cands)
    while todo:
        tp = todo.pop()
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            todo.append(typing.get_args(tp)[0])
        elif origin is typing.Union or origin is types.UnionType:
            todo += typing.get_args(tp)
        else:
            out.append(tp)
    return out
