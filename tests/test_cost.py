"""API image costs against the providers' worked examples."""

from __future__ import annotations

import pytest

from vlmselect.cost import api_cost
from vlmselect.imagetokens import api_image_tokens
from vlmselect.memory import Workload

TILES = {"rule": "openai-tiles", "base": 85, "per_tile": 170}
CLAUDE = {"rule": "anthropic", "pixels_per_token": 750, "max_edge": 1568, "max_tokens": 1600}
GEMINI = {"rule": "gemini-tiles", "tokens_per_tile": 258, "tile": 768, "small_side": 384}


@pytest.mark.parametrize("w,h,tokens", [(1024, 1024, 765), (2048, 4096, 1105), (512, 512, 255)])
def test_openai_tile_examples(w, h, tokens):
    # OpenAI vision guide: 1024x1024 -> 765 tokens; 2048x4096 -> 1105 (shared/reference/api-pricing.md, S41)
    assert api_image_tokens(TILES, w, h) == tokens


@pytest.mark.parametrize("w,h,tokens", [(1000, 1000, 1334), (1092, 1092, 1590)])
def test_anthropic_examples(w, h, tokens):
    # Anthropic vision docs: tokens = w*h/750; 1000x1000 ~ 1334, 1092x1092 ~ 1590 (S53)
    assert api_image_tokens(CLAUDE, w, h) == tokens


def test_anthropic_cost_example(catalog):
    # Docs: a 1000x1000 image ~ 1334 tokens ~ $0.004 at $3 / MTok input.
    api = catalog.apis["claude-3.5-sonnet"]
    c = api_cost(api, Workload(width=1000, height=1000, max_new_tokens=1), prompt_tokens=0)
    assert c.image_tokens == 1334
    assert c.usd == pytest.approx(0.004, abs=0.0002)


def test_gemini_tiles():
    assert api_image_tokens(GEMINI, 384, 384) == 258
    assert api_image_tokens(GEMINI, 1024, 1024) == 4 * 258


def test_openai_patches_cap():
    rule = {"rule": "openai-patches", "multiplier": 1.62, "max_patches": 1536}
    assert api_image_tokens(rule, 320, 320) == 162  # 10 x 10 patches x 1.62
    assert api_image_tokens(rule, 4096, 4096) <= int(1536 * 1.62) + 1


def test_cost_per_image_formula(catalog):
    api = catalog.apis["gpt-4o"]
    w = Workload(width=1024, height=1024, max_new_tokens=256)
    c = api_cost(api, w)
    # The prompt is the workload's own: 4096 text tokens (the --context default) beside the image.
    assert c.input_tokens == 765 + 4096 and c.output_tokens == 256 and c.per == "image"
    assert "765 tokens" in c.basis


def test_seed_costs_are_rough(catalog):
    # The seed says ~$0.001 per image on Gemini 1.5 Flash; with 258 tokens at $0.075/MTok the
    # image itself costs ~$0.00002: the seed's figures include a lot of output, or are stale.
    api = catalog.apis["gemini-1.5-flash"]
    img_only = api_cost(api, Workload(max_new_tokens=1), prompt_tokens=0).usd
    assert img_only < api.seed["cost_per_image_usd"] / 10


def test_no_image_tokens_billed_without_images(catalog):
    api = catalog.apis["gpt-4o"]
    c = api_cost(api, Workload(images=0, context=1000, max_new_tokens=100))
    assert c.image_tokens == 0 and c.input_tokens == 1000 and c.per == "request"


def test_context_is_billed(catalog):
    api = catalog.apis["gpt-4o"]
    short = api_cost(api, Workload(context=100)).usd
    long = api_cost(api, Workload(context=100_000)).usd
    # 99,900 more input tokens at GPT-4o's $2.50 per 1M input tokens (openai.com/api/pricing) = $0.24975.
    assert long - short == pytest.approx(0.24975)


def test_provider_cap_on_image_size(catalog):
    # Anthropic scales images so the long edge is at most 1568 px: a 6000 x 4000 photo is billed at the cap.
    api = catalog.apis["claude-3.5-sonnet"]
    c = api_cost(api, Workload(width=6000, height=4000))
    assert c.image_tokens <= 1600 and "billed as 1568x1045" in c.basis
