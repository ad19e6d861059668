"""Quantization formats: bits per weight, which runners take them, and their quality cost.

Bits per weight for GGUF types are llama.cpp's own measurements on Llama-3.1-8B
(tools/quantize/README.md, "bits/weight" column). Where that table has no row (Q3_K_M,
Q4_0) the bpw is derived from quantize.cpp's size string for the same model, scaled by
the Q3_K_S row that appears in both: bpw = 3.6429 x size_G / 3.41.
"""


import functools
from typing import NamedTuple

from vlmselect.quant_quality import factor


def _f(fmt: str) -> float:
    return factor(fmt).value


LLAMA_CPP_QUANT_TABLE = "https://github.com/ggml-org/llama.cpp/blob/master/tools/quantize/README.md"
QUANTIZE_CPP = "https://github.com/ggml-org/llama.cpp/blob/master/tools/quantize/quantize.cpp"
BNB_DOC = "https://huggingface.co/docs/transformers/main/en/quantization/bitsandbytes"


class Quant(NamedTuple):
    id: str
    bits: float  # effective bits per quantized weight
    fmt: str  # "fp" | "gguf" | "bnb" | "awq" | "gptq" | "fp8"
    quality: float  # share of its 16-bit scores kept (vlmselect.quant_quality): multiplies quality in ranking
    group: str  # "fp16" | "q8" | "q4" | "q2" ... the bucket reported by `models`
    basis: str
    vision_16bit: bool = True  # does the vision tower stay 16-bit under this format?
    embeddings_16bit: bool = True  # do embeddings / lm_head stay 16-bit?


# Quality factors: the share of its 16-bit scores a model keeps in each format, from published
# per-format studies (vlmselect/quant_quality.py names each one; `why` and --explain show it).
QUANTS: dict[str, Quant] = {
    q.id: q
    for q in (
        # Every weight at the load dtype, the vision tower too (transformers' from_pretrained(dtype=float32);
        # an F32 mmproj is 4 bytes a parameter: tests/test_engine_memory.py reads the file's own tensor bytes).
        Quant("fp32", 32.0, "fp", 1.0, "fp16", "4 bytes per parameter (transformers on a CPU)", vision_16bit=False),
        Quant("bf16", 16.0, "fp", 1.0, "fp16", "2 bytes per parameter"),
        Quant("fp16", 16.0, "fp", 1.0, "fp16", "2 bytes per parameter"),
        Quant("fp8", 8.0, "fp8", _f("fp8"), "q8", "1 byte per Linear weight; embeddings and vision 16-bit"),
        Quant("q8_0", 8.5008, "gguf", _f("q8_0"), "q8", f"8.5008 bpw ({LLAMA_CPP_QUANT_TABLE})"),
        Quant("int8", 8.0, "bnb", _f("int8"), "q8", f"bitsandbytes LLM.int8: 1 byte per Linear weight ({BNB_DOC})",
              vision_16bit=False),
        Quant("q6_k", 6.5633, "gguf", _f("q6_k"), "q6", f"6.5633 bpw ({LLAMA_CPP_QUANT_TABLE})"),
        Quant("q5_k_m", 5.7036, "gguf", _f("q5_k_m"), "q5", f"5.7036 bpw ({LLAMA_CPP_QUANT_TABLE})"),
        Quant("q4_k_m", 4.8944, "gguf", _f("q4_k_m"), "q4", f"4.8944 bpw ({LLAMA_CPP_QUANT_TABLE})"),
        Quant("q4_0", 4.636, "gguf", _f("q4_0"), "q4", f"4.636 bpw, derived: 4.34G vs Q3_K_S 3.41G @ Llama-3-8B ({QUANTIZE_CPP})"),
        Quant("awq", 4.156, "awq", _f("awq"), "q4", "int4 + fp16 scale and 4-bit zero per 128-group: 4 + 20/128 bpw"),
        Quant("gptq", 4.156, "gptq", _f("gptq"), "q4", "int4 + fp16 scale and 4-bit zero per 128-group: 4 + 20/128 bpw"),
        Quant("nf4", 4.5, "bnb", _f("nf4"), "q4", f"bitsandbytes NF4: 4 bits + fp32 absmax per 64 weights = 4.5 bpw ({BNB_DOC})",
              vision_16bit=False),
        Quant("q3_k_m", 3.995, "gguf", _f("q3_k_m"), "q3", f"3.995 bpw, derived: 3.74G vs Q3_K_S 3.41G @ Llama-3-8B ({QUANTIZE_CPP})"),
        Quant("q2_k", 3.1593, "gguf", _f("q2_k"), "q2", f"3.1593 bpw ({LLAMA_CPP_QUANT_TABLE})"),
        Quant("iq2_xxs", 2.3824, "gguf", _f("iq2_xxs"), "q2", f"2.3824 bpw ({LLAMA_CPP_QUANT_TABLE})"),
    )
}

# Which formats each runner can load.
RUNNER_FORMATS = {
    "ollama": ("gguf", "fp"),
    "llama.cpp": ("gguf", "fp"),
    "transformers": ("fp", "bnb", "awq", "gptq", "fp8"),
    "vllm": ("fp", "awq", "gptq", "fp8"),
}
RUNNERS = tuple(RUNNER_FORMATS)  # the values of runner_names.Runner (tests/test_runner_names.py checks)

# The order in which quants are tried: best first.
PREFERENCE = ("fp32", "bf16", "fp16", "q8_0", "fp8", "int8", "q6_k", "q5_k_m", "awq", "q4_k_m", "gptq",
              "nf4", "q4_0", "q3_k_m", "q2_k", "iq2_xxs")

LOW_QUALITY = {"q3_k_m", "q2_k", "iq2_xxs"}


_QUANT_ALIASES = {"f16": "fp16", "q4": "q4_k_m", "q8": "q8_0", "4bit": "nf4", "8bit": "int8", "q4_k": "q4_k_m",
                  "q5_k": "q5_k_m", "q3_k": "q3_k_m", "int4": "nf4"}


def find_quant(name: str) -> Quant | None:
    """The quant a name (any case, '-' or '_', common aliases) stands for; None when none."""
    key = name.lower().replace("-", "_")
    return QUANTS.get(_QUANT_ALIASES.get(key, key))


def quant(name: str) -> Quant:
    """find_quant, or a usage error that lists the quants (and the closest one)."""
    q = find_quant(name)
    if q is None:
        from vlmselect.errors import unknown

        raise unknown("quantization", name, QUANTS, "quantizations: " + ", ".join(QUANTS))
    return q


@functools.lru_cache(maxsize=None)  # a constant per runner, asked for every model
def quants_for(runner: str) -> tuple[Quant, ...]:
    fmts = RUNNER_FORMATS[runner]
    return tuple(QUANTS[q] for q in PREFERENCE if QUANTS[q].fmt in fmts)
