"""What each quantization format costs in quality, from published per-format studies.

Each format's factor is the share of its 16-bit scores a quantized model keeps (score
retention), averaged over the published measurements below; the ranking multiplies a pick's
quality and its bounds by it and `why` / `--explain` name the study. Where a study measured a
gain (FP8 on Qwen2.5-VL-7B: 100.7 %) the factor is capped at 1: a gain inside run-to-run noise
is not a gain.

Kinds of evidence, best first:
- VLM benchmark scores of the same model at 16 bits and quantized (Qwen's own model cards for
  Qwen2-VL / Qwen2.5-VL AWQ and GPTQ, VLMEvalKit; Neural Magic / Red Hat's cards for Qwen2.5-VL-7B
  W4A16 and FP8, vLLM + mistral-evals; the W4A16 recipe printed there leaves the vision tower
  16-bit: `ignore=["lm_head", "re:visual.*"]`).
- GGUF: llama.cpp's own LLaMA-3-8B scoreboard (tools/perplexity/README.md), text only. Its
  "Mean Δp" is the mean change in the probability the model gives the right next token, so the
  retention is 1 + Mean Δp. A GGUF VLM keeps its vision tower in the separate mmproj file at
  f16/bf16 (or q8_0), so only the language model is quantized, as on the scoreboard. The rows
  without an importance matrix are used (what a plain `llama-quantize` gives); iq2_xxs has only
  an imatrix row.
- No per-format VLM study was found for bitsandbytes: int8 and nf4 take the nearest published
  VLM measurement of the same bit width (GPTQ-Int8; the mean of the 4-bit AWQ/GPTQ rows) and
  say so. bitsandbytes also quantizes the vision tower and NF4 is not calibrated, so the real
  loss is likely larger: these are flagged `stand_in`.

Data only (no imports beyond the standard library): imported on recommend's start-up path.
"""


from typing import NamedTuple

QWEN25_VL_AWQ = "https://huggingface.co/Qwen/Qwen2.5-VL-7B-Instruct-AWQ"  # table of all three sizes
QWEN2_VL = "https://github.com/QwenLM/Qwen2-VL/blob/dcc62fea0a69e8feb2b687b63811792ec9f96ab6/README.md"
NM_W4A16 = "https://huggingface.co/neuralmagic/Qwen2.5-VL-7B-Instruct-quantized.w4a16"
NM_FP8 = "https://huggingface.co/neuralmagic/Qwen2.5-VL-7B-Instruct-FP8-Dynamic"
LLAMA_CPP_PPL = "https://github.com/ggml-org/llama.cpp/blob/master/tools/perplexity/README.md"

QWEN25_BENCH = "MMMU val, DocVQA val, MMBench dev-en, MathVista mini (VLMEvalKit)"
QWEN2_BENCH = "MMMU, DocVQA, MMBench, MathVista (VLMEvalKit)"
NM_BENCH = "MMMU val CoT, VQAv2 val, DocVQA val, ChartQA test CoT, MathVista testmini CoT (vLLM, mistral-evals)"


class Measurement(NamedTuple):
    fmt: str  # vlmselect's quant id (vlmselect.quant.QUANTS)
    model: str
    benchmarks: str
    base: tuple[float, ...]  # the 16-bit model's scores, as printed
    quant: tuple[float, ...]  # the quantized model's scores, same order
    by: str  # who ran it
    source: str

    @property
    def retention(self) -> float:
        return sum(q / b for q, b in zip(self.quant, self.base)) / len(self.base)


MEASUREMENTS: tuple[Measurement, ...] = (
    # Qwen's own: "Performance of Quantized Models", Qwen2.5-VL-*-AWQ model cards.
    Measurement("awq", "Qwen2.5-VL-72B-Instruct", QWEN25_BENCH, (70.0, 96.1, 88.2, 75.3), (69.1, 96.0, 87.9, 73.8),
                "Qwen (model maker)", QWEN25_VL_AWQ),
    Measurement("awq", "Qwen2.5-VL-7B-Instruct", QWEN25_BENCH, (58.4, 94.9, 84.1, 67.9), (55.6, 94.6, 84.2, 64.7),
                "Qwen (model maker)", QWEN25_VL_AWQ),
    Measurement("awq", "Qwen2.5-VL-3B-Instruct", QWEN25_BENCH, (51.7, 93.0, 79.8, 61.4), (49.1, 91.8, 78.0, 58.8),
                "Qwen (model maker)", QWEN25_VL_AWQ),
    # Qwen's own: Qwen2-VL README, "Performance of Quantized Models" (BF16 / GPTQ-Int8 / GPTQ-Int4 / AWQ).
    Measurement("awq", "Qwen2-VL-72B-Instruct", QWEN2_BENCH, (65.44, 95.79, 86.94, 70.19), (64.22, 95.72, 86.43, 68.40),
                "Qwen (model maker)", QWEN2_VL),
    Measurement("awq", "Qwen2-VL-7B-Instruct", QWEN2_BENCH, (53.77, 93.89, 81.78, 58.20), (53.66, 93.10, 81.61, 56.80),
                "Qwen (model maker)", QWEN2_VL),
    Measurement("awq", "Qwen2-VL-2B-Instruct", QWEN2_BENCH, (41.88, 88.34, 72.07, 44.40), (41.33, 86.96, 71.64, 39.90),
                "Qwen (model maker)", QWEN2_VL),
    Measurement("gptq", "Qwen2-VL-72B-Instruct", QWEN2_BENCH, (65.44, 95.79, 86.94, 70.19), (64.00, 95.70, 86.68, 69.20),
                "Qwen (model maker)", QWEN2_VL),
    Measurement("gptq", "Qwen2-VL-7B-Instruct", QWEN2_BENCH, (53.77, 93.89, 81.78, 58.20), (52.55, 93.16, 81.27, 60.30),
                "Qwen (model maker)", QWEN2_VL),
    Measurement("gptq", "Qwen2-VL-2B-Instruct", QWEN2_BENCH, (41.88, 88.34, 72.07, 44.40), (39.22, 87.21, 70.87, 41.69),
                "Qwen (model maker)", QWEN2_VL),
    # Neural Magic (Red Hat), not the model's maker: GPTQ W4A16 (group 128, vision tower left 16-bit).
    Measurement("gptq", "Qwen2.5-VL-7B-Instruct", NM_BENCH, (52.00, 75.59, 94.27, 86.44, 69.47),
                (51.11, 73.90, 94.13, 85.64, 67.17), "Neural Magic (independent)", NM_W4A16),
    Measurement("fp8", "Qwen2.5-VL-7B-Instruct", NM_BENCH, (52.00, 75.59, 94.27, 86.44, 69.47),
                (52.55, 75.79, 94.27, 86.80, 71.07), "Neural Magic (independent)", NM_FP8),
    Measurement("gptq_int8", "Qwen2-VL-72B-Instruct", QWEN2_BENCH, (65.44, 95.79, 86.94, 70.19),
                (64.56, 95.84, 87.03, 68.90), "Qwen (model maker)", QWEN2_VL),
    Measurement("gptq_int8", "Qwen2-VL-7B-Instruct", QWEN2_BENCH, (53.77, 93.89, 81.78, 58.20),
                (53.00, 93.94, 82.38, 57.90), "Qwen (model maker)", QWEN2_VL),
    Measurement("gptq_int8", "Qwen2-VL-2B-Instruct", QWEN2_BENCH, (41.88, 88.34, 72.07, 44.40),
                (41.55, 88.28, 71.99, 44.60), "Qwen (model maker)", QWEN2_VL),
)

# llama.cpp's LLaMA-3-8B scoreboard (CUDA, RTX 4090, revision f364eb6f), "Mean Δp" in %, no
# importance matrix unless noted: the right token's probability changes by this much on average.
LLAMA_CPP_MEAN_DP = {
    "q8_0": -0.019, "q6_k": -0.007, "q5_k_m": -0.114, "q4_k_m": -0.596, "q4_0": -1.588,
    "q3_k_m": -1.990, "q2_k": -9.123,
    "iq2_xxs": -14.363,  # the scoreboard's only iq2_xxs row has a 10M-token Wikitext importance matrix
}


class Factor(NamedTuple):
    value: float  # 0..1, multiplies quality and its bounds
    basis: str  # how it was derived, in words
    source: str  # where the numbers are printed
    stand_in: bool = False  # no study of this format itself: the nearest published one
    short: str = ""  # the basis in a few words, for `why`


def _mean(fmt: str) -> float:
    rows = [m.retention for m in MEASUREMENTS if m.fmt == fmt]
    return sum(rows) / len(rows)


def _vlm(fmt: str, label: str) -> Factor:
    rows = [m for m in MEASUREMENTS if m.fmt == fmt]
    models = ", ".join(sorted({m.model.replace("-Instruct", "") for m in rows}))
    return Factor(min(1.0, round(_mean(fmt), 3)),
                  f"{label}: {100 * _mean(fmt):.1f} % of the 16-bit VLM scores kept ({models})",
                  " ".join(sorted({m.source for m in rows})),
                  short=f"{label.split(': ')[-1]}: {len(rows)} published VLM run{'s' if len(rows) > 1 else ''}")


def _gguf(fmt: str) -> Factor:
    dp = LLAMA_CPP_MEAN_DP[fmt]
    return Factor(round(1 + dp / 100, 3), f"1 + the mean change of the right token's probability ({dp:+.3f} %,"
                                          " 'Mean dp') on llama.cpp's LLaMA-3-8B scoreboard (text; the mmproj keeps"
                                          " the vision tower 16-bit)", LLAMA_CPP_PPL,
                  short="llama.cpp LLaMA-3-8B scoreboard, text")


FACTORS: dict[str, Factor] = {
    **{f: Factor(1.0, "16-bit or wider: the reference", "", short="reference") for f in ("fp32", "bf16", "fp16")},
    "fp8": _vlm("fp8", "FP8 dynamic (W8A8)"),
    "awq": _vlm("awq", "AWQ int4"),
    "gptq": _vlm("gptq", "GPTQ int4 (W4A16)"),
    **{f: _gguf(f) for f in LLAMA_CPP_MEAN_DP},
    "int8": _vlm("gptq_int8", "stand-in, no bitsandbytes VLM study found: GPTQ-Int8")._replace(
        stand_in=True, short="stand-in: GPTQ-Int8 VLM runs, no bitsandbytes study"),
    "nf4": Factor(round((_mean("awq") + _mean("gptq")) / 2, 3),
                  f"stand-in, no bitsandbytes VLM study found: the mean of the 4-bit AWQ/GPTQ VLM rows "
                  f"({100 * (_mean('awq') + _mean('gptq')) / 2:.1f} %); NF4 is uncalibrated and also quantizes"
                  " the vision tower, so its loss is likely larger", f"{QWEN25_VL_AWQ} {QWEN2_VL} {NM_W4A16}",
                  stand_in=True, short="stand-in: 4-bit AWQ/GPTQ VLM runs, no NF4 study"),
}


def factor(fmt: str) -> Factor:
    """The factor of a vlmselect quant id; KeyError for a format with no published basis."""
    return FACTORS[fmt]
