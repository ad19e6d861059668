"""The quality cost of each quantization format, held to the published studies it comes from."""

from __future__ import annotations

import pytest

from vlmselect.quant import QUANTS
from vlmselect.quant_quality import FACTORS, MEASUREMENTS, factor
from vlmselect.ranking import quant_note, quant_why


def _rows(fmt: str, model: str):
    return next(m for m in MEASUREMENTS if m.fmt == fmt and m.model == model)


def test_every_format_the_ranking_uses_has_a_published_basis():
    for q in QUANTS.values():
        f = factor(q.id)
        assert q.quality == f.value, q.id
        assert 0.0 < f.value <= 1.0
        if f.value < 1.0:
            assert all(u.startswith("https://") for u in f.source.split()), q.id
    assert {m.fmt for m in MEASUREMENTS} >= {"awq", "gptq", "fp8", "gptq_int8"}


def test_neural_magic_cards_own_recovery_column():
    # Each card prints a "Recovery (%)" per vision task beside the two scores: the stored scores
    # must reproduce that column (a check of the transcription against the card's own arithmetic).
    w4 = _rows("gptq", "Qwen2.5-VL-7B-Instruct")
    printed = (98.29, 97.76, 99.85, 99.07, 96.69)
    assert [round(100 * q / b, 2) for q, b in zip(w4.quant, w4.base)] == pytest.approx(printed, abs=0.011)
    fp8 = _rows("fp8", "Qwen2.5-VL-7B-Instruct")
    printed = (101.06, 100.26, 100.00, 100.42, 102.31)
    assert [round(100 * q / b, 2) for q, b in zip(fp8.quant, fp8.base)] == pytest.approx(printed, abs=0.011)
    # The card's "Average Score" recovery (98.47 %) and ours (the mean of the task ratios) agree
    # to 0.3 points; FP8 measured no loss and the factor does not reward the noise with a gain.
    assert w4.retention == pytest.approx(0.9847, abs=0.003)
    assert factor("fp8").value == 1.0


def test_qwen_cards_published_drops():
    # Qwen2.5-VL-7B-Instruct-AWQ card: MMMU 58.4 -> 55.6 and MathVista 67.9 -> 64.7, the largest
    # drops in its table; DocVQA moves 0.3. Qwen2-VL-2B GPTQ-Int4: MMMU 41.88 -> 39.22.
    awq7 = _rows("awq", "Qwen2.5-VL-7B-Instruct")
    assert (awq7.base[0], awq7.quant[0], awq7.base[3], awq7.quant[3]) == (58.4, 55.6, 67.9, 64.7)
    assert abs(awq7.quant[1] - awq7.base[1]) == pytest.approx(0.3)
    assert _rows("gptq", "Qwen2-VL-2B-Instruct").quant[0] == 39.22
    # The 8-bit rows keep more than the 4-bit ones of the same models (the cards' own ordering).
    for model in ("Qwen2-VL-72B-Instruct", "Qwen2-VL-7B-Instruct", "Qwen2-VL-2B-Instruct"):
        assert _rows("gptq_int8", model).retention > min(_rows("gptq", model).retention, _rows("awq", model).retention)


def test_gguf_factors_follow_llama_cpp_kl_divergence_order():
    # A second column of the same scoreboard (mean KL divergence vs FP16, no imatrix): the
    # factors, taken from "Mean Δp", must not rank a type above one with a smaller divergence.
    kld = {"q8_0": 0.001355, "q6_k": 0.005452, "q5_k_m": 0.010762, "q4_k_m": 0.031273, "q4_0": 0.071940,
           "q3_k_m": 0.101913, "q2_k": 0.445132}
    by_kld = sorted(kld, key=kld.get)
    values = [factor(q).value for q in by_kld]
    assert values == sorted(values, reverse=True)
    assert factor("q4_k_m").value == pytest.approx(1 - 0.00596, abs=0.0005)


def test_published_study_headlines():
    # Kurtic et al., "Give Me BF16 or Give Me Death?" (arXiv 2411.02355, abstract): FP8 is
    # "effectively lossless", INT4 weight-only "competitive" with 8-bit; 2-bit GGUF is severe.
    assert factor("fp8").value >= 0.99
    assert factor("awq").value >= 0.97 and factor("gptq").value >= 0.97
    assert factor("q2_k").value < 0.95 < factor("q4_k_m").value
    assert FACTORS["nf4"].stand_in and FACTORS["int8"].stand_in
    assert not FACTORS["awq"].stand_in and not FACTORS["q4_k_m"].stand_in


def test_the_penalty_is_shown_with_its_source():
    q = QUANTS["q4_k_m"]
    assert quant_why(q) == "q4_k_m: quality x0.994 (llama.cpp LLaMA-3-8B scoreboard, text)"
    assert "tools/perplexity/README.md" in quant_note(q) and "right token's probability (-0.596 %" in quant_note(q)
    assert all((quant_note(x) + quant_why(x)).isascii() for x in QUANTS.values())  # printable on any terminal
    assert "stand-in" in quant_why(QUANTS["nf4"])
    assert quant_why(QUANTS["bf16"]) == quant_note(QUANTS["bf16"]) == ""


def test_recommend_why_and_explain_name_the_quant_study(cli):
    r = cli("recommend", "--task", "general", "--gpu", "RTX 4090", "--priority", "quality", "--local",
            "--top", "10", "--json")
    assert r.code == 0, r.err
    quantized = [x for x in r.json()["local"] if x["quant"] not in ("bf16", "fp16", "fp32")]
    assert quantized
    for x in quantized:
        assert f"{x['quant']}: quality x" in x["why"], x["why"]
    r = cli("recommend", "--task", "general", "--gpu", "RTX 4090", "--priority", "quality", "--local", "--explain")
    assert r.code == 0, r.err
    assert "16-bit" in r.out and ("scoreboard" in r.out or "VLM scores kept" in r.out)
