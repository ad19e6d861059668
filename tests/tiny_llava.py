"""Build a tiny, random-weight LLaVA checkpoint on disk for offline tests.

Nothing is downloaded: the model is built from configs (CLIP vision tower + small
Llama), the tokenizer is made with the ``tokenizers`` library, and the image
processor is the PIL-backed CLIP one, so neither the Hugging Face hub nor
torchvision is needed.

Sizes (all layer widths are multiples of 64 so bitsandbytes 4-bit NF4 can
quantise every linear layer, also on the CPU):

* vision: CLIP, image 64x64, patch 16 -> 4x4 = 16 patches (+1 CLS),
  hidden 64, intermediate 128, 2 layers, 2 heads
* text: Llama, hidden 128, intermediate 256, 2 layers, 4 heads, 2 kv heads
* vocab: byte-level BPE (no training, deterministic): 5 specials + 256 byte
  tokens + merges for a few common words = 377 tokens (= LlamaConfig.vocab_size)

Image tokens per image: the processor inserts
``(64 // 16) ** 2 + num_additional_image_tokens(1) - 1 ("default" strategy drops CLS) = 16``
``<image>`` tokens, which is what the model produces with
``vision_feature_select_strategy="default"`` (CLIP's hidden states have 17
positions, the CLS one is dropped).
"""

from __future__ import annotations

import os
import pathlib

IMAGE_SIZE = 64
PATCH_SIZE = 16
NUM_IMAGE_TOKENS = (IMAGE_SIZE // PATCH_SIZE) ** 2  # 16

SPECIAL_TOKENS = ["<unk>", "<s>", "</s>", "<pad>", "<image>"]

# Words that get a single token each (with and without a leading space), so
# tokenised prompts are short; everything else falls back to byte tokens.
COMMON_WORDS = [
    "the", "a", "an", "of", "to", "in", "is", "and", "on", "it", "this", "that",
    "what", "What", "read", "Read", "text", "image", "picture", "describe", "Describe",
    "answer", "Answer", "question", "USER", "ASSISTANT", "yes", "no", "one", "two",
]

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'user' %}USER: "
    "{% elif message['role'] == 'system' %}SYSTEM: "
    "{% else %}ASSISTANT: {% endif %}"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for item in message['content'] %}"
    "{% if item['type'] == 'image' %}<image>\n"
    "{% elif item['type'] == 'text' %}{{ item['text'] }}{% endif %}"
    "{% endfor %}{% endif %}"
    "{% if message['role'] == 'assistant' %}</s>{% endif %}{{ '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}ASSISTANT:{% endif %}"
)


def _build_tokenizer():
    """A byte-level BPE tokenizer (no training, fully deterministic) wrapped for transformers."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())  # 256 printable stand-ins for bytes

    vocab: dict[str, int] = {}
    for tok in SPECIAL_TOKENS:
        vocab[tok] = len(vocab)
    for ch in alphabet:
        vocab[ch] = len(vocab)

    # Merges that build each common word left to right (all merges yielding
    # 2-char pieces first, then 3-char, ...), then attach the leading space
    # ("Ġ") last, so " the" becomes the single token "Ġthe".
    def _mapped(text: str) -> str:
        return "".join(piece for piece, _ in byte_level.pre_tokenize_str(text))

    space = _mapped(" ")
    by_len: dict[int, list[tuple[str, str]]] = {}
    for word in COMMON_WORDS:
        mapped = _mapped(word)
        for i in range(1, len(mapped)):
            by_len.setdefault(i + 1, []).append((mapped[:i], mapped[i]))
    ordered = [pair for length in sorted(by_len) for pair in by_len[length]]
    ordered += [(space, _mapped(word)) for word in COMMON_WORDS]
    merges: list[tuple[str, str]] = []
    for left, right in ordered:
        if (left, right) in merges:
            continue
        merges.append((left, right))
        if left + right not in vocab:
            vocab[left + right] = len(vocab)

    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="<unk>"))
    tok.pre_tokenizer = byte_level
    tok.decoder = decoders.ByteLevel()
    # Special tokens are matched before pre-tokenisation, so "<image>" is never split.
    tok.add_special_tokens(SPECIAL_TOKENS)
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A",
        pair="<s> $A <s> $B",
        special_tokens=[("<s>", vocab["<s>"])],
    )

    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="<pad>",
        extra_special_tokens={"image_token": "<image>"},
        padding_side="left",
        model_max_length=2048,
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def _build_image_processor():
    try:  # transformers >= 5: the PIL backend, needs no torchvision
        from transformers import CLIPImageProcessorPil as cls
    except ImportError:  # transformers 4.x: the "slow" processor is the PIL/numpy one
        from transformers import CLIPImageProcessor as cls
    return cls(
        size={"shortest_edge": IMAGE_SIZE},
        crop_size={"height": IMAGE_SIZE, "width": IMAGE_SIZE},
        do_resize=True,
        do_center_crop=True,
    )


def build_tiny_llava(path: str | os.PathLike, seed: int = 0) -> pathlib.Path:
    """Build and save a tiny random-weight LLaVA (CLIP vision tower + small Llama) with a real
    LlavaProcessor (CLIPImageProcessor(Pil) + a small tokenizer made with the `tokenizers` library)
    into `path`, loadable with AutoProcessor.from_pretrained(path) and
    AutoModelForImageTextToText.from_pretrained(path). Returns the path."""
    import torch
    from transformers import (
        CLIPVisionConfig,
        GenerationConfig,
        LlamaConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
    )

    path = pathlib.Path(path)
    path.mkdir(parents=True, exist_ok=True)

    tokenizer = _build_tokenizer()
    image_processor = _build_image_processor()
    processor = LlavaProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        patch_size=PATCH_SIZE,
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1,  # CLIP's CLS token
        chat_template=CHAT_TEMPLATE,
        image_token="<image>",
    )

    vocab_size = len(tokenizer)
    bos_id = tokenizer.convert_tokens_to_ids("<s>")
    eos_id = tokenizer.convert_tokens_to_ids("</s>")
    pad_id = tokenizer.convert_tokens_to_ids("<pad>")
    image_id = tokenizer.convert_tokens_to_ids("<image>")

    vision_config = CLIPVisionConfig(
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=2,
        image_size=IMAGE_SIZE,
        patch_size=PATCH_SIZE,
        num_channels=3,
        projection_dim=64,
        hidden_act="quick_gelu",
    )
    text_config = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=128,
        intermediate_size=256,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        bos_token_id=bos_id,
        eos_token_id=eos_id,
        pad_token_id=pad_id,
        tie_word_embeddings=False,
    )
    config = LlavaConfig(
        vision_config=vision_config,
        text_config=text_config,
        image_token_index=image_id,
        image_seq_length=NUM_IMAGE_TOKENS,
        projector_hidden_act="gelu",
        vision_feature_select_strategy="default",
        vision_feature_layer=-1,
        tie_word_embeddings=False,
    )
    for attr, value in (("bos_token_id", bos_id), ("eos_token_id", eos_id), ("pad_token_id", pad_id)):
        try:
            setattr(config, attr, value)
        except Exception:  # some config versions do not accept these at the top level
            pass

    torch.manual_seed(seed)
    model = LlavaForConditionalGeneration(config).eval()
    model.generation_config = GenerationConfig(
        bos_token_id=bos_id,
        eos_token_id=eos_id,
        pad_token_id=pad_id,
        do_sample=False,
        max_new_tokens=16,
    )

    model.save_pretrained(path, safe_serialization=True)
    processor.save_pretrained(path)
    return path


def catalog_entry(model_id: str = "tiny-llava", name: str = "Tiny LLaVA (test)", repo: str = "test-org/tiny-llava",
                  trust_remote_code: bool = False, vllm: bool = False) -> str:
    """The catalog overlay (models.yaml) that describes the tiny LLaVA above to vlmselect."""
    runners = ("    vllm: true\n" if vllm else "") + "    transformers: {class: LlavaForConditionalGeneration}\n"
    return (f"- id: {model_id}\n  name: {name}\n  family: llava\n  released: 2025-01-01\n  license: apache-2.0\n"
            f"  hf_repo: {repo}\n  trust_remote_code: {'true' if trust_remote_code else 'false'}\n"
            "  params: {total_b: 0.001}\n"
            "  arch: {layers: 2, kv_heads: 2, head_dim: 32, hidden: 128, heads: 4, vocab: 377}\n"  # the tokenizer's 377
            "  context_max: 512\n"
            f"  image_tokens: {{rule: fixed, tokens: {NUM_IMAGE_TOKENS}}}\n"
            "  capabilities: {single_image: 1, multi_image: 0, ocr: 1, documents: 0, charts: 0, grounding: 0, video: 0}\n"
            f"  runners:\n{runners}  sources: [https://example.org/{model_id}]\n")
