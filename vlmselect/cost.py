"""Cost of one image on a hosted API: provider image-token rule x input price + output tokens x output price."""


from typing import NamedTuple

from vlmselect.catalog import ApiSpec
from vlmselect.imagetokens import api_image_tokens
from vlmselect.memory import Workload

PROMPT_TOKENS = 50  # a short instruction next to each image


class CostEstimate(NamedTuple):
    image_tokens: int
    input_tokens: int
    output_tokens: int
    usd: float
    basis: str


def api_cost(api: ApiSpec, w: Workload, prompt_tokens: int = PROMPT_TOKENS) -> CostEstimate:
    """USD for one request with `w.images` images of w.width x w.height and w.max_new_tokens out, per image."""
    per_image = api_image_tokens(api.image_tokens, w.width, w.height)
    images = max(w.images, 1)
    inp = per_image * images + prompt_tokens
    out = w.max_new_tokens
    usd = (inp * api.input_per_mtok + out * api.output_per_mtok) / 1e6 / images
    basis = (f"{api.image_tokens['rule']}: {per_image} tokens per {w.width}x{w.height} image; "
             f"({inp} in x ${api.input_per_mtok:g} + {out} out x ${api.output_per_mtok:g}) per 1M tokens"
             f" / {images} image(s); prices as of {api.price_as_of or 'unknown'} ({api.price_source})")
    return CostEstimate(per_image, inp, out, usd, basis)
