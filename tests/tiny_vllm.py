"""Tiny random-weight Hugging Face checkpoints that vLLM (CPU build) serves: the tiny LLaVA of
tests/tiny_llava.py with its vision keys renamed for vLLM, and a text-only Llama of a chosen
attention shape (GQA or MHA) for the KV-cache comparison."""

from __future__ import annotations

import shutil
from pathlib import Path


def vllm_llava(src: Path, dst: Path) -> Path:
    """A copy of a transformers-saved LLaVA that vLLM can load.

    transformers 5's save_pretrained writes the CLIP tower as `vision_tower.embeddings.*`,
    `vision_tower.encoder.*`; vLLM's LLaVA loader (vllm/model_executor/models/llava.py, 0.32) looks
    for `vision_tower.vision_model.*`, as checkpoints saved by transformers 4 have them.
    transformers itself loads either, so only the copy for vLLM is renamed.
    """
    from safetensors.numpy import load_file, save_file

    src, dst = Path(src), Path(dst)
    shutil.copytree(src, dst, dirs_exist_ok=True)
    for f in dst.glob("*.safetensors"):
        tensors = load_file(str(f))
        renamed = {("vision_tower.vision_model." + k[len("vision_tower."):]
                    if k.startswith("vision_tower.") and not k.startswith("vision_tower.vision_model.") else k): v
                   for k, v in tensors.items()}
        save_file(renamed, str(f), metadata={"format": "pt"})
    return dst


def build_tiny_llama(path: Path, *, heads: int = 4, kv_heads: int = 2, hidden: int = 128, layers: int = 2,
                     max_positions: int = 512, seed: int = 0) -> Path:
    """A text-only LlamaForCausalLM with the tiny LLaVA's tokenizer; head_dim = hidden / heads."""
    import torch
    from tiny_llava import _build_tokenizer
    from transformers import LlamaConfig, LlamaForCausalLM

    path = Path(path)
    tok = _build_tokenizer()
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=layers,
                      num_attention_heads=heads, num_key_value_heads=kv_heads, max_position_embeddings=max_positions,
                      bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
                      tie_word_embeddings=False)
    torch.manual_seed(seed)
    LlamaForCausalLM(cfg).eval().save_pretrained(path, safe_serialization=True)
    tok.save_pretrained(path)
    return path
