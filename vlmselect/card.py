"""The smoke test's card: known text, a bar chart with labelled values and a red circle, drawn
with Pillow; the answer is scored by character error rate on the text and exact checks on the
chart values and the colour. Also the check that a user's own image is one."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vlmselect.errors import RuntimeFailure

if TYPE_CHECKING:
    from types import ModuleType

CARD_TEXT = ["INVOICE 4711", "Date 2026-03-14", "Widgets 3 x 12.50", "Total 1234.50"]
CARD_BARS = {"A": 3, "B": 7, "C": 5}
CARD_COLOUR = "red"
CARD_PROMPT = ("Read this card. Write out every line of text in the box exactly, then give the value of "
               "each bar (A, B, C) as 'A=..., B=..., C=...', then name the colour of the circle.")
MAX_CER = 0.25  # text lines must match to within 25 % character error rate


@dataclass
class Card:
    png: bytes
    text: list[str] = field(default_factory=lambda: list(CARD_TEXT))
    bars: dict[str, int] = field(default_factory=lambda: dict(CARD_BARS))
    colour: str = CARD_COLOUR


def make_card(width: int = 768, height: int = 512) -> Card:
    """Draw the test card with Pillow: text block, bar chart with values, a red circle."""
    Image = _pil()
    from PIL import ImageDraw, ImageFont

    img = Image.new("RGB", (width, height), "white")
    d = ImageDraw.Draw(img)
    try:
        font = ImageFont.load_default(size=28)
        small = ImageFont.load_default(size=22)
    except TypeError:  # Pillow < 10.1: the bitmap font only
        font = small = ImageFont.load_default()
    d.rectangle([20, 20, 400, 240], outline="black", width=2)
    for i, line in enumerate(CARD_TEXT):
        d.text((36, 34 + i * 50), line, fill="black", font=font)
    base, left, bw = 470, 60, 70
    d.line([40, base, 400, base], fill="black", width=2)
    for i, (label, value) in enumerate(CARD_BARS.items()):
        x = left + i * 110
        d.rectangle([x, base - value * 25, x + bw, base], fill=(60, 90, 200))
        d.text((x + 24, base - value * 25 - 30), str(value), fill="black", font=small)
        d.text((x + 26, base + 6), label, fill="black", font=small)
    d.ellipse([520, 180, 700, 360], fill=(220, 30, 30))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return Card(buf.getvalue())


# ---------------------------------------------------------------- scoring


def _norm(s: str) -> str:
    return re.sub(r"\s+", " ", s.lower()).strip()


def line_cer(expected: str, answer: str) -> float:
    """Character error rate of `expected` against its best-matching span of `answer`."""
    e, a = _norm(expected), _norm(answer)
    if not e:
        return 0.0
    if e in a:
        return 0.0
    best = 1.0
    n = len(e)
    for start in range(0, max(len(a) - n // 2, 1)):
        for size in (n - 2, n, n + 2):
            window = a[start:start + max(size, 1)]
            if not window:
                continue
            best = min(best, _edit(e, window) / n)
    return min(best, 1.0)


def _edit(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def score_card(answer: str, card: Card) -> dict[str, Any]:
    cers = [line_cer(line, answer) for line in card.text]
    cer = sum(cers) / len(cers)
    a = answer.lower()
    bars = {k: bool(re.search(rf"\b{k.lower()}\s*[:=\-]?\s*{v}\b", a)) for k, v in card.bars.items()}
    colour = re.search(rf"\b{card.colour}\b", a) is not None
    chart = sum(bars.values()) / len(bars)
    score = 0.6 * (1 - cer) + 0.3 * chart + 0.1 * colour
    passed = cer <= MAX_CER and chart >= 2 / 3 and colour
    return {"score": round(score, 3), "passed": passed, "text_cer": round(cer, 3), "line_cer": [round(c, 3) for c in cers],
            "bars_ok": bars, "colour_ok": colour}


def score_expect(answer: str, expect: str) -> dict[str, Any]:
    cer = line_cer(expect, answer)
    return {"score": round(1 - cer, 3), "passed": cer <= MAX_CER, "text_cer": round(cer, 3)}


def read_image(path: Path) -> bytes:
    """The bytes of a user's image, after Pillow has checked that it is one."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RuntimeFailure(f"cannot read image {path}: {exc.strerror}", "pass the path of a PNG or JPEG file") from None
    Image = _pil()
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.verify()  # a truncated or corrupt file fails here
    except Exception as exc:  # noqa: BLE001 (Pillow raises many kinds: UnidentifiedImageError, SyntaxError, OSError, DecompressionBombError)
        raise RuntimeFailure(f"{path} is not an image Pillow can read ({type(exc).__name__}: {exc})",
                             "pass a PNG or JPEG file") from None
    return data


def _pil() -> ModuleType:  # PIL.Image
    try:
        from PIL import Image
    except ImportError:
        raise RuntimeFailure("smoke needs Pillow to draw and read images, and it is not installed",
                             "pip install pillow (a core dependency of vlmselect: reinstall it)") from None
    return Image
