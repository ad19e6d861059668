"""The catalog schema: every field and nested block the code reads, typed and bounded (pydantic v2).

Strict mode: text where a number belongs is an error, never coerced. Unknown keys are errors
(a typo must not silently drop a fact). Names that end up in printed commands (Hugging Face
repos, GGUF files, Ollama tags) must match strict patterns: no spaces, no shell metacharacters.
Imported only when a catalog file is (re)validated; the JSON cache path never imports it.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from vlmselect.catalog.fields import (  # noqa: F401 (re-exported: the schema in one import)
    CapLevel, Date, GgufFile, HfRepo, Identifier, NonEmpty, NonNegInt, NonNegNum, OllamaTag, PipName, Plain, PosInt, PosNum, Seed,
    PubDate, QuantKey, Size, Slug, Strict, Url, Version, _level, _pattern, _to_date,
)
from vlmselect.catalog.rules import ApiRule, LocalRule  # noqa: F401


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
    mode: Literal["plain", "thinking", "cot", "unknown"] | None = None  # unknown: never pooled with a stated mode
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
    seed: Seed | None = None  # the seed document's own claims, verbatim (the VRAM ones numbers: they are compared)
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
    as_of: Date | None = None  # the date the status page was read
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
    seed: Plain | None = None
    sources: list[Url] = Field(min_length=1)
    unknown: Unknowns | None = None


class GpuEntry(_Listed):
    vendor: NonEmpty
    vram_gb: PosNum
    bandwidth_gbps: PosNum
    source: Url  # the vendor's own page (datasheet, product page, newsroom, tech specs) where one exists
    read_via: Url | None = None  # the copy the vendor page was read in, when not the page itself
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
