"""Cost of a request on a hosted API: the real prompt (text tokens + image tokens by the provider's
rule, after its cap on image size) x input price + output tokens x output price."""


from typing import NamedTuple

from vlmselect.catalog import ApiSpec
from vlmselect.imagetokens import api_image_tokens
from vlmselect.memory import Workload

PROMPT_TOKENS = None  # None: the workload's own --context text tokens


class CostEstimate(NamedTuple):
    image_tokens: int
    input_tokens: int
    output_tokens: int
    usd: float  # per image (per frame on video workloads), or per request when there are no images
    basis: str
    per: str = "image"  # image | frame | request


def capped_size(api: ApiSpec, w: int, h: int) -> tuple[int, int]:
    """The image size the provider bills after its own downscaling to `max_resolution` (aspect kept)."""
    if not api.max_resolution:
        return w, h
    mw, mh = (int(x) for x in api.max_resolution)
    s = min(1.0, mw / w, mh / h)
    return max(round(w * s), 1), max(round(h * s), 1)


def api_cost(api: ApiSpec, w: Workload, prompt_tokens: int | None = PROMPT_TOKENS) -> CostEstimate:
    """USD for one request of `w` (its --context text, its images, its answer), per image or frame;
    per request when the workload has no image."""
    text = w.context if prompt_tokens is None else prompt_tokens
    bw, bh = capped_size(api, w.width, w.height)
    per_image = api_image_tokens(api.image_tokens, bw, bh) if w.images > 0 else 0
    inp = per_image * w.images + text
    out = w.max_new_tokens
    per = "request" if w.images == 0 else ("frame" if w.video else "image")
    usd = (inp * api.input_per_mtok + out * api.output_per_mtok) / 1e6 / max(w.images, 1)
    size = f"{w.width}x{w.height}" + (f" (billed as {bw}x{bh}, the provider's cap)" if (bw, bh) != (w.width, w.height) else "")
    basis = (f"{api.image_tokens['rule']}: {per_image} tokens per {size} image; "
             f"({w.images} x {per_image} image + {text} text = {inp} in x ${api.input_per_mtok:g} + {out} out x "
             f"${api.output_per_mtok:g}) per 1M tokens, per {per}; prices as of {api.price_as_of or 'unknown'} "
             f"({api.price_source})")
    return CostEstimate(per_image, inp, out, usd, basis, per)
