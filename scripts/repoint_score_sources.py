"""Repoint benchmark `source` URLs in a catalog file and append to each touched score's `note`.

A text edit, not a YAML round-trip: the file's layout, comments and key order stay as they are; a folded
multi-line note is joined and rewritten as one double-quoted string. Used to move scores from an arXiv
abstract page to the page that prints the table once the number was checked there:

    .venv/bin/python scripts/repoint_score_sources.py catalog/2026-models.yaml 'internvl3\\.5-.*' \\
        https://arxiv.org/abs/2508.18265 https://arxiv.org/html/2508.18265 "checked 2026-11-30 ..." [KEY,KEY|*]

Only entries whose id matches ID_REGEX (whole id) and whose score `source` equals OLD_URL are changed.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path


def repoint(text: str, id_re: str, old: str, new: str, suffix: str, keys: set[str] | None) -> tuple[str, int, int]:
    lines = text.split("\n")
    out: list[str] = []
    cur_id = cur_key = None
    in_bench = pending = False
    changed = noted = 0
    i = 0
    while i < len(lines):
        ln = lines[i]
        if m := re.match(r"^- id: (\S+)$", ln):
            cur_id, in_bench, cur_key = m.group(1), False, None
        elif re.match(r"^  benchmarks:\s*$", ln):
            in_bench = True
        elif re.match(r"^  \S", ln):
            in_bench = False
        elif in_bench and (m := re.match(r"^    (\S+):\s*$", ln)):
            cur_key, pending = m.group(1), False
        hit = bool(cur_id and re.fullmatch(id_re, cur_id) and in_bench and cur_key
                   and (keys is None or cur_key in keys))
        if hit and ln.strip() == f"source: {old}":
            ln = ln.replace(old, new)
            changed += 1
            pending = True
        elif hit and pending and ln.startswith("      note: "):
            body = ln[len("      note: "):]
            while i + 1 < len(lines) and re.match(r"^        \S", lines[i + 1]):  # folded continuation lines
                i += 1
                body += " " + lines[i].strip()
            if body.startswith('"'):
                body = json.loads(body)
            elif body.startswith("'"):
                body = body[1:-1].replace("''", "'")
            body = body.rstrip() + ("; " if body.rstrip() else "") + suffix
            ln = "      note: " + json.dumps(body, ensure_ascii=False)
            pending = False
            noted += 1
        out.append(ln)
        i += 1
    return "\n".join(out), changed, noted


def main(argv: list[str]) -> int:
    if len(argv) not in (5, 6):
        print(__doc__)
        return 2
    path, id_re, old, new, suffix = argv[:5]
    keys = None if len(argv) == 5 or argv[5] == "*" else set(argv[5].split(","))
    p = Path(path)
    text, changed, noted = repoint(p.read_text(encoding="utf-8"), id_re, old, new, suffix, keys)
    p.write_text(text, encoding="utf-8")
    print(f"{changed} sources repointed, {noted} notes extended")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
