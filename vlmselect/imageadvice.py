"""What resolution to send: the size beyond which a model or API gains nothing, and what an image
costs at that size and at the user's --resolution (tokens and memory locally, tokens and $ on an
API), with the provider's cheaper mode and when to use it. Pure: numbers come from the catalog's
image-token rules (imagetokens.py), the estimator and the cost model.
"""


import math
from typing import TYPE_CHECKING, Any, NamedTuple

from vlmselect.catalog import ApiSpec, ModelSpec
from vlmselect.imagetokens import _closest_grid, api_image_tokens, model_image_tokens
from vlmselect.memory import OLLAMA_QWEN_MAX_TOKENS, Workload

if TYPE_CHECKING:
    from vlmselect.quant import Quant

# Gemini 3 media_resolution: tokens per image at each level. Google's media-resolution page
# (https://ai.google.dev/gemini-api/docs/media-resolution, "Token counts"); the figures were read in
# a secondary copy of that table (https://fastgptplus.com/en/posts/gemini-3-pro-media-resolution-parameter).
GEMINI3_MEDIA_TOKENS = {"low": 280, "medium": 560, "high": 1120}


class Advice(NamedTuple):
    useful: tuple[int, int] | None  # largest useful WxH for an input of the user's aspect; None: no limit
    why: str  # the model's own limit that sets it
    at_useful: dict[str, Any]  # {"tokens", and "memory_gib" (local) or "usd" (API)}
    at_request: dict[str, Any]  # the same at --resolution
    resize_to: tuple[int, int] | None  # set when --resolution is larger than useful
    cheaper: dict[str, Any] | None  # {"mode", "tokens", "usd", "when", "param"} where the provider has one
    lines: list[str]  # what to print


def _fit(w: int, h: int, max_w: int, max_h: int) -> tuple[int, int]:
    """The user's aspect scaled to touch the max_w x max_h box (up or down)."""
    s = min(max_w / w, max_h / h)
    return max(1, math.floor(w * s)), max(1, math.floor(h * s))


def _by_area(w: int, h: int, pixels: float) -> tuple[int, int]:
    """The user's aspect scaled to `pixels` pixels (up or down)."""
    s = math.sqrt(pixels / (w * h))
    return max(1, math.floor(w * s)), max(1, math.floor(h * s))


def local_limit(m: ModelSpec, w: int, h: int, runner: str | None) -> tuple[tuple[int, int] | None, str]:
    """The model's largest useful input at the user's aspect, from its image-token rule."""
    r = m.image_tokens
    kind = r["rule"]
    if kind == "qwen2-vl":
        p = int(r.get("pixels_per_token", 28))
        cap = int(r.get("max_tokens", 16384))
        why = f"qwen2-vl rule: at most {cap} tokens of {p}x{p} px"
        if runner == "ollama":
            cap = min(cap, OLLAMA_QWEN_MAX_TOKENS)
            why = f"Ollama caps Qwen-VL images at {cap} tokens of {p}x{p} px"
        return _by_area(w, h, cap * p * p), why
    if kind == "tiles":
        tile = int(r.get("tile", 448))
        gw, gh = _closest_grid(w, h, tile, int(r.get("min_tiles", 1)), int(r.get("max_tiles", 12)))
        return _fit(w, h, gw * tile, gh * tile), f"tiles rule: a {gw}x{gh} grid of {tile}-px tiles at this aspect"
    if kind == "slices":
        n, px = int(r.get("max_slices", 9)), int(r.get("slice_pixels", 448 * 448))
        return _by_area(w, h, n * px), f"slices rule: at most {n} slices of {px} px"
    if kind == "anyres":
        pins = r.get("grid_pinpoints") or [[336, 672], [672, 336], [672, 672], [1008, 336], [336, 1008]]
        pw, ph = max(pins, key=lambda p: (min(p[0] / w, p[1] / h), p[0] * p[1]))
        return _fit(w, h, pw, ph), f"anyres rule: largest grid pinpoint {pw}x{ph} at this aspect"
    if kind == "phi3-vision":
        crops = int(r.get("num_crops", 16))
        return _by_area(w, h, crops * 336 * 336), f"phi3-vision rule: at most {crops} crops of 336x336"
    if kind == "patches":
        side = int(r.get("max_side", 1024))
        return _fit(w, h, side, side), f"patches rule: long side at most {side} px"
    if kind == "cross-attention":
        tile, n = int(r.get("tile", 560)), int(r.get("max_tiles", 4))
        return _by_area(w, h, n * tile * tile), f"cross-attention rule: at most {n} tiles of {tile}x{tile}"
    if m.max_resolution:
        mw, mh = m.max_resolution
        return _fit(w, h, mw, mh), f"the encoder's input size {mw}x{mh} (catalog max_resolution)"
    return None, f"{kind} rule: a fixed {r.get('tokens')} tokens at any size (the processor resizes)"


def api_limit(a: ApiSpec, w: int, h: int) -> tuple[tuple[int, int] | None, str]:
    r = a.image_tokens
    kind = r["rule"]
    if kind == "openai-tiles":
        s = min(1.0, 2048 / max(w, h))  # OpenAI only ever shrinks
        w2, h2 = w * s, h * s
        s = min(1.0, 768 / min(w2, h2))
        return (math.floor(w2 * s), math.floor(h2 * s)), "OpenAI fits images in 2048x2048, then the short side to 768"
    if kind == "openai-patches":
        cap = int(r.get("max_patches", 1536))
        return _by_area(w, h, cap * 32 * 32), f"OpenAI downscales to at most {cap} patches of 32x32"
    if kind == "anthropic":
        edge, cap, ppt = int(r.get("max_edge", 1568)), int(r.get("max_tokens", 1600)), int(r.get("pixels_per_token", 750))
        fw, fh = _fit(w, h, edge, edge)
        if fw * fh > cap * ppt:
            fw, fh = _by_area(fw, fh, cap * ppt)
        return (fw, fh), f"Anthropic resizes past a {edge}-px long edge or ~{cap} tokens"
    return None, f"{kind}: no size limit stated; the cost grows with the tiles"


def _cheaper(a: ApiSpec, w: Workload) -> dict[str, Any] | None:
    kind = a.image_tokens["rule"]
    if a.provider == "openai" and kind == "openai-tiles":
        t = int(a.image_tokens.get("base", 85))
        return {"mode": "detail: low", "tokens": t, "param": {"detail": "low"},
                "when": "the task needs the gist, not small text (classification, captions, counting big objects)"}
    if a.provider == "google":
        gen3 = a.api_model.startswith("gemini-3")
        low: int | None = GEMINI3_MEDIA_TOKENS["low"] if gen3 else None
        return {"mode": "media_resolution: low", "tokens": low, "param": {"media_resolution": "MEDIA_RESOLUTION_LOW"},
                "when": "no fine text or small details matter (scene questions, classification, video frames)"}
    return None


def _usd(a: ApiSpec, tokens: int, w: Workload) -> float:
    return (tokens * a.input_per_mtok + w.max_new_tokens * a.output_per_mtok) / 1e6


def advise(item: ModelSpec | ApiSpec, w: Workload, runner: str | None = None, quant: "Quant | None" = None) -> Advice:
    """Image-size advice for a local model (with the runner and quant it will run at) or an API."""
    if isinstance(item, ApiSpec):
        useful, why = api_limit(item, w.width, w.height)
        def tok(ww: int, hh: int) -> int:
            return api_image_tokens(item.image_tokens, ww, hh)

        req_tokens = tok(w.width, w.height)
        at_req = {"resolution": f"{w.width}x{w.height}", "tokens": req_tokens,
                  "usd": round(_usd(item, req_tokens, w), 6)}
        at_use: dict[str, Any] = {}
        if useful:
            use_tokens = tok(*useful)
            at_use = {"resolution": f"{useful[0]}x{useful[1]}", "tokens": use_tokens,
                      "usd": round(_usd(item, use_tokens, w), 6)}
        cheaper = _cheaper(item, w)
        if cheaper and cheaper["tokens"] is not None:
            cheaper["usd"] = round(_usd(item, cheaper["tokens"], w), 6)
    else:
        from vlmselect.memory import estimate_memory

        useful, why = local_limit(item, w.width, w.height, runner)
        cap = OLLAMA_QWEN_MAX_TOKENS if runner == "ollama" and item.image_tokens["rule"] == "qwen2-vl" else None

        def cost(ww: int, hh: int) -> dict[str, Any]:
            d: dict[str, Any] = {"resolution": f"{ww}x{hh}", "tokens": model_image_tokens(item.image_tokens, ww, hh, cap).tokens}
            if quant is not None and runner:
                d["memory_gib"] = round(estimate_memory(item, quant, runner, w._replace(width=ww, height=hh)).total_gib, 2)
            return d

        at_req = cost(w.width, w.height)
        at_use = cost(*useful) if useful else {}
        cheaper = None
    resize = useful if useful and (w.width > useful[0] or w.height > useful[1]) else None
    return Advice(useful, why, at_use, at_req, resize, cheaper, _lines(useful, why, at_use, at_req, resize, cheaper))


def _cost_text(d: dict[str, Any]) -> str:
    bits = [f"{d['tokens']} image tokens"]
    if "memory_gib" in d:
        bits.append(f"{d['memory_gib']:.2f} GiB in all")
    if "usd" in d:
        bits.append(f"${d['usd']:.4f} per image")
    return ", ".join(bits)


def _lines(useful: tuple[int, int] | None, why: str, at_use: dict[str, Any], at_req: dict[str, Any],
           resize: tuple[int, int] | None, cheaper: dict[str, Any] | None) -> list[str]:
    out = []
    if useful:
        out.append(f"largest useful size: {useful[0]}x{useful[1]} ({why}); larger gains nothing")
        out.append(f"  at {at_use['resolution']}: {_cost_text(at_use)}")
    else:
        out.append(f"no size limit that saves tokens: {why}")
    out.append(f"  at --resolution {at_req['resolution']}: {_cost_text(at_req)}")
    if resize:
        out.append(f"  the snippet resizes to {resize[0]}x{resize[1]} before sending")
    if cheaper:
        t = f"{cheaper['tokens']} tokens" if cheaper["tokens"] is not None else "fewer tokens (count not in the catalog)"
        usd = f", ${cheaper['usd']:.4f} per image" if "usd" in cheaper else ""
        out.append(f"cheaper mode: {cheaper['mode']} ({t}{usd}); use it when {cheaper['when']}")
    return out
