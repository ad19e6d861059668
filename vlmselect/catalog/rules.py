"""The image-token rules of the catalog schema: a local model takes only the preprocessor rules,
an API only the billing rules; each number a rule gives must be positive. See schema.py."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import (
    Discriminator,
    Field,
    Tag,
    model_validator,
)
from pydantic_core import PydanticCustomError

from vlmselect.catalog.fields import NonNegInt, PosInt, PosNum, Size, Strict, at_most

# Counts the token rules enumerate (tile grids are searched over every i x j <= max_tiles): real
# models use at most ~40 tiles, 9 slices, 16 crops; these caps keep a hostile value from a long loop.
Tiles = Annotated[int, Field(gt=0), at_most(256)]
Slices = Annotated[int, Field(gt=0), at_most(1024)]
Slices0 = Annotated[int, Field(ge=0), at_most(1024)]

# ---------------------------------------------------------------- image-token rules


class _VideoPath(Strict):
    max_tokens: PosInt | None = None
    temporal_merge: PosInt | None = None
    # A fixed cost per frame (LLaVA-Video pools each frame's patch grid): tokens, encoder patches, and
    # where the rule is read.
    tokens: PosInt | None = None
    patches: PosInt | None = None
    source: str | None = None


class _LocalRule(Strict):
    video: _VideoPath | None = None  # families with a video path (Qwen-VL): frames cost differently


class FixedLocal(_LocalRule):
    rule: Literal["fixed"]
    tokens: PosInt
    patches: PosInt | None = None


class QwenRule(_LocalRule):
    rule: Literal["qwen2-vl"]
    pixels_per_token: PosInt | None = None
    min_tokens: PosInt | None = None
    max_tokens: PosInt | None = None

    @model_validator(mode="after")
    def _order(self) -> QwenRule:
        if self.min_tokens and self.max_tokens and self.min_tokens > self.max_tokens:
            raise PydanticCustomError("cat_order", "min_tokens cannot exceed max_tokens")
        return self


class AnyresRule(_LocalRule):
    rule: Literal["anyres"]
    base_tokens: PosInt | None = None
    tile: PosInt | None = None
    grid_pinpoints: list[Size] | None = Field(default=None, min_length=1, max_length=256)


class TilesRule(_LocalRule):
    rule: Literal["tiles"]
    tile: PosInt | None = None
    tokens_per_tile: PosInt | None = None
    min_tiles: Tiles | None = None
    max_tiles: Tiles | None = None
    thumbnail: bool | None = None
    patch: PosInt | None = None

    @model_validator(mode="after")
    def _order(self) -> TilesRule:
        if self.min_tiles and self.max_tiles and self.min_tiles > self.max_tiles:
            raise PydanticCustomError("cat_order", "min_tiles cannot exceed max_tiles")
        return self


class SlicesRule(_LocalRule):
    rule: Literal["slices"]
    tokens_per_slice: PosInt | None = None
    max_slices: Slices0 | None = None
    slice_pixels: PosInt | None = None
    patch: PosInt | None = None


class Phi3Rule(_LocalRule):
    rule: Literal["phi3-vision"]
    num_crops: Slices | None = None


class PatchesRule(_LocalRule):
    rule: Literal["patches"]
    patch: PosInt | None = None
    max_side: PosInt | None = None
    merge: PosInt | None = None


class CrossAttentionRule(_LocalRule):
    rule: Literal["cross-attention"]
    tokens_per_tile: PosInt | None = None
    max_tiles: Tiles | None = None


class FixedApi(Strict):
    rule: Literal["fixed"]
    tokens: PosInt


class OpenAITiles(Strict):
    rule: Literal["openai-tiles"]
    base: NonNegInt | None = None
    per_tile: PosInt | None = None


class OpenAIPatches(Strict):
    rule: Literal["openai-patches"]
    multiplier: PosNum | None = None
    max_patches: PosInt | None = None


class AnthropicRule(Strict):
    rule: Literal["anthropic"]
    pixels_per_token: PosInt | None = None
    max_edge: PosInt | None = None
    max_tokens: PosInt | None = None


class GeminiTiles(Strict):
    rule: Literal["gemini-tiles"]
    tokens_per_tile: PosInt | None = None
    tile: PosInt | None = None
    small_side: PosInt | None = None


def _rule_of(v: Any) -> str | None:
    return v.get("rule") if isinstance(v, dict) and isinstance(v.get("rule"), str) else None


LocalRule = Annotated[Union[
    Annotated[FixedLocal, Tag("fixed")], Annotated[QwenRule, Tag("qwen2-vl")], Annotated[AnyresRule, Tag("anyres")],
    Annotated[TilesRule, Tag("tiles")], Annotated[SlicesRule, Tag("slices")], Annotated[Phi3Rule, Tag("phi3-vision")],
    Annotated[PatchesRule, Tag("patches")], Annotated[CrossAttentionRule, Tag("cross-attention")],
], Discriminator(_rule_of, custom_error_type="rule", custom_error_message="local rule")]
ApiRule = Annotated[Union[
    Annotated[FixedApi, Tag("fixed")], Annotated[OpenAITiles, Tag("openai-tiles")],
    Annotated[OpenAIPatches, Tag("openai-patches")], Annotated[AnthropicRule, Tag("anthropic")],
    Annotated[GeminiTiles, Tag("gemini-tiles")],
], Discriminator(_rule_of, custom_error_type="rule", custom_error_message="api rule")]
