"""How many tokens one image costs, by the rule of the model family or API provider.

Each rule follows the family's preprocessor (see docs/catalog.md and
shared/reference/vram-estimation.md section 3). Local rules return an `ImageCost` so
that memory, speed and cost share one count.
"""

import functools
import math
from typing import Any, NamedTuple


class ImageCost(NamedTuple):
    tokens: int  # tokens one image adds to the language model's context
    patches: int  # vision-encoder patches for the whole image (all tiles): drives ViT FLOPs
    seq: int  # longest sequence one ViT forward attends over: drives its P^2 activation memory


def _smart_resize(w: int, h: int, factor: int, min_pixels: int, max_pixels: int) -> tuple[int, int]:
    """Qwen2-VL's smart_resize: round to the factor, then scale into [min, max] pixels."""
    hb = max(factor, round(h / factor) * factor)
    wb = max(factor, round(w / factor) * factor)
    if hb * wb > max_pixels:
        beta = math.sqrt((h * w) / max_pixels)
        hb = max(factor, math.floor(h / beta / factor) * factor)
        wb = max(factor, math.floor(w / beta / factor) * factor)
    elif hb * wb < min_pixels:
        beta = math.sqrt(min_pixels / (h * w))
        hb = math.ceil(h * beta / factor) * factor
        wb = math.ceil(w * beta / factor) * factor
    return wb, hb


def _qwen(rule: dict[str, Any], w: int, h: int, cap_tokens: int | None) -> ImageCost:
    p = int(rule.get("pixels_per_token", 28))
    max_tokens = int(rule.get("max_tokens", 16384))
    if cap_tokens:
        max_tokens = min(max_tokens, cap_tokens)
    min_tokens = int(rule.get("min_tokens", 4))
    wb, hb = _smart_resize(w, h, p, min_tokens * p * p, max_tokens * p * p)
    tokens = (wb // p) * (hb // p)
    return ImageCost(tokens, tokens * 4, tokens * 4)  # 2x2 patch merge: four encoder patches per token


@functools.lru_cache(maxsize=64)  # pure, and recommend asks the same few shapes for every InternVL-style model
def _closest_grid(w: int, h: int, tile: int, min_tiles: int, max_tiles: int) -> tuple[int, int]:
    """InternVL's find_closest_aspect_ratio over grids with min..max tiles."""
    aspect = w / h
    grids = sorted(((i, j) for i in range(1, max_tiles + 1) for j in range(1, max_tiles + 1)
                    if min_tiles <= i * j <= max_tiles), key=lambda g: g[0] * g[1])
    best, best_diff = (1, 1), float("inf")
    for gw, gh in grids:
        diff = abs(aspect - gw / gh)
        if diff < best_diff:
            best, best_diff = (gw, gh), diff
        elif diff == best_diff and w * h > 0.5 * tile * tile * gw * gh:
            best = (gw, gh)
    return best


def _tiles(rule: dict[str, Any], w: int, h: int) -> ImageCost:
    tile = int(rule.get("tile", 448))
    per = int(rule.get("tokens_per_tile", 256))
    gw, gh = _closest_grid(w, h, tile, int(rule.get("min_tiles", 1)), int(rule.get("max_tiles", 12)))
    n = gw * gh + (1 if rule.get("thumbnail", True) and gw * gh > 1 else 0)
    patches_per_tile = (tile // int(rule.get("patch", 14))) ** 2
    return ImageCost(n * per, n * patches_per_tile, patches_per_tile)


def _slices(rule: dict[str, Any], w: int, h: int) -> ImageCost:
    per = int(rule.get("tokens_per_slice", 64))
    max_slices = int(rule.get("max_slices", 9))
    slice_pixels = int(rule.get("slice_pixels", 448 * 448))
    n = min(max_slices, max(0, math.ceil(w * h / slice_pixels))) if w * h > slice_pixels else 0
    per_slice = (int(math.sqrt(slice_pixels)) // int(rule.get("patch", 14))) ** 2
    return ImageCost((1 + n) * per, (1 + n) * per_slice, per_slice)


def _anyres(rule: dict[str, Any], w: int, h: int) -> ImageCost:
    """LLaVA-NeXT anyres: the pinpoint resolution that keeps the most of the image, tiled by `tile`."""
    base = int(rule.get("base_tokens", 576))
    tile = int(rule.get("tile", 336))
    pins = rule.get("grid_pinpoints") or [[336, 672], [672, 336], [672, 672], [1008, 336], [336, 1008]]
    best, best_eff, best_waste = pins[0], -1, float("inf")
    for pw, ph in pins:
        scale = min(pw / w, ph / h)
        eff = min(int(w * scale) * int(h * scale), w * h)
        waste = pw * ph - eff
        if eff > best_eff or (eff == best_eff and waste < best_waste):
            best, best_eff, best_waste = (pw, ph), eff, waste
    n_tiles = (best[0] // tile) * (best[1] // tile)
    tokens = base * (1 + n_tiles)  # upper bound: HF unpads the tiles and adds a newline per row
    return ImageCost(tokens, tokens, base)


def _phi3(rule: dict[str, Any], w: int, h: int) -> ImageCost:
    """Phi-3-vision's HD transform: up to num_crops 336-px crops, then its token formula."""
    crops = int(rule.get("num_crops", 16))
    scale = 1
    ratio = w / h if w >= h else h / w
    while scale * math.ceil(scale / ratio) <= crops:
        scale += 1
    scale -= 1
    if w >= h:
        nw, nh = scale * 336, math.ceil(scale * 336 / ratio / 336) * 336
    else:
        nh, nw = scale * 336, math.ceil(scale * 336 / ratio / 336) * 336
    crops = (nh // 336) * (nw // 336) + 1
    tokens = int(crops * 144 + 1 + (nh // 336 + 1) * 12)
    return ImageCost(tokens, crops * 577, 577)  # CLIP ViT-L/14-336: 576 patches + CLS per crop


def _patches(rule: dict[str, Any], w: int, h: int) -> ImageCost:
    """Pixtral / Mistral 3: native resolution up to max_side, patch x patch, merged merge x merge."""
    p = int(rule.get("patch", 16))
    merge = int(rule.get("merge", 1))
    max_side = int(rule.get("max_side", 1024))
    s = min(1.0, max_side / max(w, h))
    cols = math.ceil(w * s / (p * merge))
    rows = math.ceil(h * s / (p * merge))
    patches = cols * rows * merge * merge
    return ImageCost(cols * rows + rows, patches, patches)  # one [IMG_BREAK]/[IMG_END] per row


def model_image_tokens(rule: dict[str, Any], w: int, h: int, cap_tokens: int | None = None) -> ImageCost:
    """What one w x h image costs under a local model's rule."""
    kind = rule["rule"]
    if kind == "fixed":
        t = int(rule["tokens"])
        p = int(rule.get("patches", t))  # encoder patches when the card gives them (Gemma 3: 4096)
        return ImageCost(t, p, p)
    if kind == "qwen2-vl":
        return _qwen(rule, w, h, cap_tokens)
    if kind == "tiles":
        return _tiles(rule, w, h)
    if kind == "slices":
        return _slices(rule, w, h)
    if kind == "anyres":
        return _anyres(rule, w, h)
    if kind == "phi3-vision":
        return _phi3(rule, w, h)
    if kind == "patches":
        return _patches(rule, w, h)
    if kind == "cross-attention":
        per, tiles = int(rule.get("tokens_per_tile", 1601)), int(rule.get("max_tiles", 4))
        return ImageCost(0, per * tiles, per * tiles)  # held in the cross-attention KV, not in the context
    raise ValueError(f"image-token rule {kind!r} is for APIs")


# ---------------------------------------------------------------- hosted APIs


def api_image_tokens(rule: dict[str, Any], w: int, h: int) -> int:
    """Billed input tokens for one image under a provider's published rule."""
    kind = rule["rule"]
    if kind == "fixed":
        return int(rule["tokens"])
    if kind == "openai-tiles":
        # Fit in 2048x2048, then scale so the short side is 768; 512-px tiles.
        s = min(1.0, 2048 / max(w, h))
        w2, h2 = w * s, h * s
        s = min(1.0, 768 / min(w2, h2))
        w2, h2 = w2 * s, h2 * s
        tiles = math.ceil(w2 / 512) * math.ceil(h2 / 512)
        return int(rule.get("base", 85) + rule.get("per_tile", 170) * tiles)
    if kind == "openai-patches":
        cap = int(rule.get("max_patches", 1536))
        patches = math.ceil(w / 32) * math.ceil(h / 32)
        if patches > cap:
            # Shrink so the patch grid fits the cap, as OpenAI's guide describes.
            s = math.sqrt(cap * 32 * 32 / (w * h))
            s = s * min(math.floor(w * s / 32) / (w * s / 32), math.floor(h * s / 32) / (h * s / 32))
            patches = min(cap, math.ceil(w * s / 32) * math.ceil(h * s / 32))
        return math.ceil(patches * float(rule.get("multiplier", 1.0)))
    if kind == "anthropic":
        max_edge = int(rule.get("max_edge", 1568))
        s = min(1.0, max_edge / max(w, h))
        tokens = (w * s) * (h * s) / int(rule.get("pixels_per_token", 750))
        cap = int(rule.get("max_tokens", 1600))
        if tokens > cap:  # scaled down until it fits ~1,600 tokens
            tokens = cap
        return math.ceil(tokens)
    if kind == "gemini-tiles":
        small = int(rule.get("small_side", 384))
        per = int(rule.get("tokens_per_tile", 258))
        if w <= small and h <= small:
            return per
        tile = int(rule.get("tile", 768))
        return per * math.ceil(w / tile) * math.ceil(h / tile)
    raise ValueError(f"image-token rule {kind!r} is for local models")
