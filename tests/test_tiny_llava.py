"""The tiny offline LLaVA fixture loads and generates on the CPU, plain and in 4-bit NF4."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("tokenizers")
Image = pytest.importorskip("PIL.Image")

from tiny_llava import NUM_IMAGE_TOKENS, build_tiny_llava  # noqa: E402

pytestmark = pytest.mark.slow

MESSAGES = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Read the text"}]}]


@pytest.fixture(scope="module")
def tiny_llava_dir(tmp_path_factory):
    return build_tiny_llava(tmp_path_factory.mktemp("tiny-llava"), seed=0)


@pytest.fixture(scope="module")
def processor(tiny_llava_dir):
    from transformers import AutoProcessor

    return AutoProcessor.from_pretrained(tiny_llava_dir)


def _inputs(processor):
    prompt = processor.apply_chat_template(MESSAGES, add_generation_prompt=True)
    assert isinstance(prompt, str) and "<image>" in prompt
    image = Image.new("RGB", (200, 120), (255, 255, 255))
    inputs = processor(images=[image], text=prompt, return_tensors="pt")
    assert int((inputs["input_ids"] == processor.image_token_id).sum()) == NUM_IMAGE_TOKENS
    return inputs


def _generate_and_check(model, processor, inputs):
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=8, do_sample=False)
    prompt_len = inputs["input_ids"].shape[1]
    new_tokens = out[0, prompt_len:]
    assert new_tokens.numel() > 0
    text = processor.decode(new_tokens, skip_special_tokens=True)
    assert isinstance(text, str)
    return new_tokens


def test_tiny_llava_generates_float32_cpu(tiny_llava_dir, processor):
    from transformers import AutoModelForImageTextToText

    model = AutoModelForImageTextToText.from_pretrained(tiny_llava_dir, dtype=torch.float32)
    model.eval()
    assert model.config.text_config.vocab_size == len(processor.tokenizer)
    assert model.config.image_token_id == processor.image_token_id
    assert model.generation_config.do_sample is False
    _generate_and_check(model, processor, _inputs(processor))


def test_tiny_llava_generates_4bit_nf4_cpu(tiny_llava_dir, processor):
    bnb = pytest.importorskip("bitsandbytes")
    from transformers import AutoModelForImageTextToText, BitsAndBytesConfig

    quant = BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_compute_dtype=torch.float32,
    )
    model = AutoModelForImageTextToText.from_pretrained(
        tiny_llava_dir, quantization_config=quant, device_map="cpu", dtype=torch.float32
    )
    model.eval()
    linear4 = [m for m in model.modules() if isinstance(m, bnb.nn.Linear4bit)]
    # 2 vision layers x 6 + projector 2 + 2 text layers x 7 (lm_head stays unquantised)
    assert len(linear4) == 28
    assert all(m.weight.quant_state.quant_type == "nf4" for m in linear4)
    assert not isinstance(model.lm_head, bnb.nn.Linear4bit)
    # bitsandbytes' own allocation per quantized weight (the packed 4-bit codes plus the fp32 absmax of
    # each block) is the bits per weight the estimator charges for nf4, vision tower included.
    from vlmselect.quant import QUANTS

    stored = sum(m.weight.numel() * m.weight.element_size()
                 + m.weight.quant_state.absmax.numel() * m.weight.quant_state.absmax.element_size() for m in linear4)
    weights = sum(m.in_features * m.out_features for m in linear4)
    assert QUANTS["nf4"].bits == pytest.approx(8 * stored / weights, rel=1e-6)
    _generate_and_check(model, processor, _inputs(processor))
