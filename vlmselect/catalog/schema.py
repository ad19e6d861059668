"""The catalog schema: every field and nested block the code reads, typed and bounded (pydantic v2).

Strict mode: text where a number belongs is an error, never coerced. Unknown keys are errors
(a typo must not silently drop a fact). Names that end up in printed commands (Hugging Face
repos, GGUF files, Ollama tags) must match strict patterns: no spaces, no shell metacharacters.
Imported only when a catalog file is (re)validated; the JSON cache path never imports it.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    model_validator,
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
    grid_pinpoints: list[Size] | None = Field(default=None, min_length=1)


class TilesRule(_LocalRule):
    rule: Literal["tiles"]
    tile: PosInt | None = None
    tokens_per_tile: PosInt | None = None
    min_tiles: PosInt | None = None
    max_tiles: PosInt | None = None
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
    max_slices: NonNegInt | None = None
    slice_pixels: PosInt | None = None
    patch: PosInt | None = None


class Phi3Rule(_LocalRule):
    rule: Literal["phi3-vision"]
    num_crops: PosInt | None = None


class PatchesRule(_LocalRule):
    rule: Literal["patches"]
    patch: PosInt | None = None
    max_side: PosInt | None = None
    merge: PosInt | None = None


class CrossAttentionRule(_LocalRule):
    rule: Literal["cross-attention"]
    tokens_per_tile: PosInt | None = None
    max_tiles: PosInt | None = None


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


# ---------------------------------------------------------------- shared blocks


class Capabilities(Strict):
    single_image: CapLevel
    multi_image: CapLevel
    ocr: CapLevel
    documents: CapLevel
    charts: CapLevel
    grounding: CapLevel
    video: CapLevel
    latex: CapLevel | None = None


class Needs(Strict):
    single_image: CapLevel | None = None
    multi_image: CapLevel | None = None
    ocr: CapLevel | None = None
    documents: CapLevel | None = None
    charts: CapLevel | None = None
    grounding: CapLevel | None = None
    video: CapLevel | None = None
    latex: CapLevel | None = None


class Benchmark(Strict):
    """One published score, with its provenance (the rankings read `by`, `mode`, `split` ...)."""

    score: NonNegNum
    source: Url
    by: Literal["vendor", "independent"] | None = None
    mode: Literal["plain", "thinking", "cot"] | None = None
    split: NonEmpty | None = None
    version: NonEmpty | None = None
    harness: NonEmpty | None = None
    date: PubDate | None = None  # publication: often only the month is known
    note: str | None = None


Benchmarks = dict[Slug, Benchmark]
Aliases = list[NonEmpty]
# `unknown`: an estimator input no primary source gives -> why (docs/catalog.md).
Unknowns = dict[Annotated[str, _pattern(r"[a-z_][a-z0-9_]*(\.[a-z0-9_]+)*", "a dotted field name")], NonEmpty]


# ---------------------------------------------------------------- local models


class Params(Strict):
    total_b: PosNum
    text_b: PosNum | None = None
    vision_b: NonNegNum | None = None
    active_b: PosNum | None = None
    projector_b: NonNegNum | None = None

    @model_validator(mode="after")
    def _active(self) -> Params:
        if self.active_b is not None and self.active_b > self.total_b:
            raise PydanticCustomError("cat_order", "active_b cannot exceed total_b")
        if self.projector_b is not None and self.vision_b is not None and self.projector_b > self.vision_b:
            raise PydanticCustomError("cat_order", "projector_b is part of vision_b, so cannot exceed it")
        return self


class ArchBlock(Strict):
    layers: PosInt
    kv_heads: PosInt
    head_dim: PosInt
    hidden: PosInt | None = None
    heads: PosInt | None = None
    vocab: PosInt | None = None
    sliding_window: PosInt | None = None
    sliding_layers: NonNegInt | None = None
    cross_attention_layers: NonNegInt | None = None
    encoder_decoder: bool | None = None
    tied_embeddings: bool | None = None

    @model_validator(mode="after")
    def _layers(self) -> ArchBlock:
        if self.sliding_layers and self.sliding_layers > self.layers:
            raise PydanticCustomError("cat_order", "sliding_layers cannot exceed layers")
        return self


class OllamaTagEntry(Strict):
    tag: OllamaTag
    quant: QuantKey | None = None
    size_gb: PosNum | None = None
    source: Url | None = None


class GgufArtifact(Strict):
    file: GgufFile
    size_gb: PosNum | None = None


class Mmproj(GgufArtifact):
    precision: Literal["f16", "bf16", "q8_0", "f32"] | None = None


class Gguf(Strict):
    repo: HfRepo
    files: dict[QuantKey, GgufArtifact] | None = None
    mmproj: Mmproj | None = None
    source: Url | None = None


class TransformersBlock(Strict):
    class_: Identifier | None = Field(default=None, alias="class")
    min_version: Version | None = None
    size_gb: PosNum | None = None
    source: Url | None = None
    note: str | None = None


class Artifact(Strict):
    """A quantized repository (AWQ, GPTQ, FP8, MLX ...)."""

    repo: HfRepo
    size_gb: PosNum | None = None
    source: Url | None = None
    note: str | None = None


class VllmBlock(Strict):
    min_version: Version | None = None
    source: Url | None = None
    note: str | None = None


class PackageRunner(Strict):
    """A model served by its own pip package (nougat-ocr)."""

    package: PipName
    model_tag: NonEmpty | None = None
    source: Url | None = None


class Runners(Strict):
    ollama: list[OllamaTagEntry] | None = None
    ollama_source: Url | None = None  # one source for every tag's size
    gguf: Gguf | None = None
    transformers: TransformersBlock | None = None
    awq: Artifact | None = None
    gptq: Artifact | None = None
    fp8: Artifact | None = None
    gptq_int8: Artifact | None = None
    int4: Artifact | None = None
    mlx: Artifact | None = None
    vllm: bool | VllmBlock | None = None
    lmdeploy: bool | None = None
    nougat_ocr: PackageRunner | None = None

    @model_validator(mode="after")
    def _sized_tags_sourced(self) -> Runners:
        for t in self.ollama or []:
            if t.size_gb is not None and not (t.source or self.ollama_source):
                raise PydanticCustomError("cat_source", "{tag}: a published size needs a source", {"tag": t.tag})
        return self


class _Listed(Strict):
    id: Slug
    name: NonEmpty
    aliases: Aliases | None = None
    notes: str | None = None
    unverified: list[NonEmpty] | None = None


class ModelEntry(_Listed):
    family: NonEmpty
    released: Date
    license: NonEmpty
    commercial: bool | None = None
    hf_repo: HfRepo
    trust_remote_code: bool
    params: Params
    arch: ArchBlock
    context_max: PosInt
    image_tokens: LocalRule
    max_resolution: Size | None = None
    max_images: PosInt | None = None
    capabilities: Capabilities
    benchmarks: Benchmarks | None = None
    runners: Runners | None = None
    seed: dict[str, Any] | None = None  # the seed document's own claims, verbatim
    sources: list[Url] = Field(min_length=1)
    unknown: Unknowns | None = None


# ---------------------------------------------------------------- APIs, GPUs, tasks


class ScheduledPrice(Strict):
    from_: Date = Field(alias="from")
    input_per_mtok: NonNegNum
    output_per_mtok: NonNegNum


class Price(Strict):
    input_per_mtok: NonNegNum
    output_per_mtok: NonNegNum
    source: Url
    as_of: Date | None = None
    read_via: Url | None = None  # the copy the page was read in, when not the page itself
    cached_input_per_mtok: NonNegNum | None = None
    batch_discount: float | None = Field(default=None, ge=0, le=1)  # share off both input and output
    batch_input_per_mtok: NonNegNum | None = None
    batch_output_per_mtok: NonNegNum | None = None
    priority_input_per_mtok: NonNegNum | None = None
    priority_output_per_mtok: NonNegNum | None = None
    priority_source: Url | None = None
    long_context_over_tokens: PosInt | None = None  # prompts longer than this are billed at a higher rate
    scheduled: ScheduledPrice | None = None  # an announced change of price


class Status(Strict):
    deprecated: Date | None = None
    retired: Date | None = None
    successor: Slug | None = None
    source: Url | None = None
    note: str | None = None


class ApiEntry(_Listed):
    provider: NonEmpty
    api_model: NonEmpty | None = None
    released: Date
    price: Price
    image_tokens: ApiRule
    max_resolution: Size | None = None
    max_images: PosInt | None = None
    context_max: PosInt | None = None
    capabilities: Capabilities
    benchmarks: Benchmarks | None = None
    status: Status | None = None
    seed: dict[str, Any] | None = None
    sources: list[Url] = Field(min_length=1)
    unknown: Unknowns | None = None


class GpuEntry(_Listed):
    vendor: NonEmpty
    vram_gb: PosNum
    bandwidth_gbps: PosNum
    source: Url
    sources: list[Url] | None = None
    compute_capability: Annotated[str, _pattern(r"\d+\.\d+", "a compute capability such as \"8.6\" (quoted)")] | None = None
    bf16: bool | None = None
    fp16_tflops: PosNum | None = None
    fp16_tflops_fp32acc: PosNum | None = None
    tdp_w: PosNum | None = None
    unified_memory: bool | None = None


class Rank(Strict):
    capabilities: dict[Literal["single_image", "multi_image", "ocr", "documents", "charts", "grounding", "video",
                               "latex"], NonNegNum] | None = None
    benchmarks: dict[Slug, NonNegNum] | None = None


class TaskEntry(_Listed):
    needs: Needs
    rank: Rank
    images: PosInt | None = None
    prompt: str | None = None
    video: bool | None = None
    description: str | None = None


ENTRY_TYPES: dict[str, type[Strict]] = {"models": ModelEntry, "apis": ApiEntry, "gpus": GpuEntry, "tasks": TaskEntry}
