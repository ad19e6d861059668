"""Tiny random-weight GGUF models for llama.cpp, written with the `gguf` package (no download).

* `write_text_model`: a `llama` (GQA or MHA) or `gemma2` (sliding-window attention on every other
  layer) text model with a SentencePiece-style vocabulary: the 256 byte tokens plus a few word
  pieces, so any text tokenizes.
* `write_mmproj`: a LLaVA-style `clip` vision encoder + MLP projector (`clip.projector_type = mlp`);
  tensor and key names come from gguf-py's own tables (`gguf.TENSOR_NAMES`, `gguf.Keys`), which are
  the names llama.cpp's tools/mtmd/clip-impl.h reads.

Every tensor is F32, so the bytes llama.cpp maps are 4 x the parameter count (plus its 32-byte
tensor alignment), which `param_count` gives for the estimator comparison.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'user' %}USER: {% else %}ASSISTANT: {% endif %}"
    "{{ message['content'] }}\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}ASSISTANT:{% endif %}"
)
WORDS = ["the", "a", "of", "to", "is", "and", "red", "bar", "text", "image", "USER", "ASSISTANT", "INVOICE", "Total"]


@dataclass(frozen=True)
class TextShape:
    arch: str = "llama"  # llama | gemma2 (sliding window on every other layer, from layer 0)
    layers: int = 2
    hidden: int = 64
    heads: int = 4
    kv_heads: int = 2
    head_dim: int = 16
    ffn: int = 128
    ctx_train: int = 8192
    sliding_window: int | None = None  # gemma2 only

    @property
    def vocab(self) -> int:
        return len(_vocab()[0])

    def param_count(self) -> int:
        """Parameters as written (the same count llama.cpp loads; gemma2 ties the output to the embedding)."""
        h, v = self.hidden, self.vocab
        attn = h * self.heads * self.head_dim * 2 + h * self.kv_heads * self.head_dim * 2
        ffn = 3 * h * self.ffn
        norms = (4 if self.arch == "gemma2" else 2) * h
        out = 0 if self.arch == "gemma2" else v * h
        return v * h + out + h + self.layers * (attn + ffn + norms)

    def n_tensors(self) -> int:
        per_layer = 11 if self.arch == "gemma2" else 9
        return 1 + (0 if self.arch == "gemma2" else 1) + 1 + self.layers * per_layer


@dataclass(frozen=True)
class VisionShape:
    image_size: int = 32
    patch_size: int = 8
    hidden: int = 32
    ffn: int = 64
    layers: int = 2
    heads: int = 2
    proj_hidden: int = 64

    @property
    def patches(self) -> int:
        return (self.image_size // self.patch_size) ** 2


def _vocab() -> tuple[list[str], list[float], list[int]]:
    import gguf

    T = gguf.TokenType
    tokens = ["<unk>", "<s>", "</s>"]
    types = [T.UNKNOWN, T.CONTROL, T.CONTROL]
    tokens += [f"<0x{b:02X}>" for b in range(256)]
    types += [T.BYTE] * 256
    for w in WORDS:
        tokens.append("\u2581" + w)  # SentencePiece's word-start mark
        types.append(T.NORMAL)
    scores = [0.0] * 259 + [-float(i) for i in range(len(WORDS))]
    return tokens, scores, [int(t) for t in types]


def write_text_model(path: str | Path, shape: TextShape = TextShape(), seed: int = 0, f16: bool = False) -> Path:
    """`f16`: matrices in F16, norms in F32 (as llama.cpp's converter writes an f16 model); else all F32."""
    import gguf
    import numpy as np

    rng = np.random.default_rng(seed)
    path = Path(path)
    w = gguf.GGUFWriter(str(path), shape.arch)
    w.add_name(f"tiny-{shape.arch}")
    w.add_context_length(shape.ctx_train)
    w.add_embedding_length(shape.hidden)
    w.add_block_count(shape.layers)
    w.add_feed_forward_length(shape.ffn)
    w.add_head_count(shape.heads)
    w.add_head_count_kv(shape.kv_heads)
    w.add_key_length(shape.head_dim)
    w.add_value_length(shape.head_dim)
    w.add_rope_dimension_count(shape.head_dim)
    w.add_layer_norm_rms_eps(1e-6)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_F16 if f16 else gguf.LlamaFileType.ALL_F32)
    if shape.arch == "gemma2":
        w.add_sliding_window(shape.sliding_window or 256)
    tokens, scores, types = _vocab()
    w.add_vocab_size(len(tokens))
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_unk_token_id(0)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_add_bos_token(True)
    w.add_chat_template(CHAT_TEMPLATE)

    def t(kind, shape_, bid=None, suffix="weight", scale=0.05):
        name = gguf.TENSOR_NAMES[kind].format(bid=bid) + "." + suffix
        if len(shape_) == 1:
            data = np.ones(shape_, dtype=np.float32)  # norms: 1 keeps activations sane
        else:
            data = (rng.standard_normal(shape_) * scale).astype(np.float16 if f16 else np.float32)
        w.add_tensor(name, data)

    M = gguf.MODEL_TENSOR
    h, q, kv = shape.hidden, shape.heads * shape.head_dim, shape.kv_heads * shape.head_dim
    # numpy shapes are (out, in): ggml's ne order reversed.
    t(M.TOKEN_EMBD, (shape.vocab, h))
    t(M.OUTPUT_NORM, (h,))
    if shape.arch != "gemma2":
        t(M.OUTPUT, (shape.vocab, h))
    for i in range(shape.layers):
        t(M.ATTN_NORM, (h,), i)
        t(M.ATTN_Q, (q, h), i)
        t(M.ATTN_K, (kv, h), i)
        t(M.ATTN_V, (kv, h), i)
        t(M.ATTN_OUT, (h, q), i)
        t(M.FFN_NORM, (h,), i)
        t(M.FFN_GATE, (shape.ffn, h), i)
        t(M.FFN_UP, (shape.ffn, h), i)
        t(M.FFN_DOWN, (h, shape.ffn), i)
        if shape.arch == "gemma2":
            t(M.ATTN_POST_NORM, (h,), i)
            t(M.FFN_POST_NORM, (h,), i)
    _finish(w)
    return path


def write_mmproj(path: str | Path, text_hidden: int = 64, shape: VisionShape = VisionShape(), seed: int = 1) -> Path:
    import gguf
    import numpy as np

    rng = np.random.default_rng(seed)
    path = Path(path)
    w = gguf.GGUFWriter(str(path), "clip")
    K, V = gguf.Keys.Clip, gguf.Keys.ClipVision
    w.add_name("tiny-llava-mmproj")
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    w.add_bool(K.HAS_VISION_ENCODER, True)
    w.add_bool(K.HAS_LLAVA_PROJECTOR, True)
    w.add_string(K.PROJECTOR_TYPE, "mlp")
    w.add_uint32(V.IMAGE_SIZE, shape.image_size)
    w.add_uint32(V.PATCH_SIZE, shape.patch_size)
    w.add_uint32(V.EMBEDDING_LENGTH, shape.hidden)
    w.add_uint32(V.FEED_FORWARD_LENGTH, shape.ffn)
    w.add_uint32(V.BLOCK_COUNT, shape.layers)
    w.add_uint32(V.PROJECTION_DIM, text_hidden)
    w.add_uint32(V.Attention.HEAD_COUNT, shape.heads)
    w.add_float32(V.Attention.LAYERNORM_EPS, 1e-5)
    w.add_array(V.IMAGE_MEAN, [0.48145466, 0.4578275, 0.40821073])
    w.add_array(V.IMAGE_STD, [0.26862954, 0.26130258, 0.27577711])
    w.add_bool(V.USE_GELU, False)  # CLIP's quick_gelu

    M = gguf.MODEL_TENSOR

    def t(kind, shape_, bid=None, suffix="weight", ones=False):
        base = gguf.TENSOR_NAMES[kind].format(bid=bid)
        name = base if suffix is None else f"{base}.{suffix}"
        if ones:
            data = np.ones(shape_, dtype=np.float32)
        elif suffix == "bias":
            data = np.zeros(shape_, dtype=np.float32)
        else:
            data = (rng.standard_normal(shape_) * 0.05).astype(np.float32)
        w.add_tensor(name, data)

    h, p = shape.hidden, shape.patch_size
    t(M.V_ENC_EMBD_PATCH, (h, 3, p, p))
    t(M.V_ENC_EMBD_CLS, (h,), suffix=None)
    t(M.V_ENC_EMBD_POS, (shape.patches + 1, h))
    t(M.V_PRE_NORM, (h,), ones=True)
    t(M.V_PRE_NORM, (h,), suffix="bias")
    for i in range(shape.layers):
        for kind in (M.V_ENC_ATTN_Q, M.V_ENC_ATTN_K, M.V_ENC_ATTN_V, M.V_ENC_ATTN_O):
            t(kind, (h, h), i)
            t(kind, (h,), i, "bias")
        for kind in (M.V_ENC_INPUT_NORM, M.V_ENC_POST_ATTN_NORM):
            t(kind, (h,), i, ones=True)
            t(kind, (h,), i, "bias")
        t(M.V_ENC_FFN_UP, (shape.ffn, h), i)
        t(M.V_ENC_FFN_UP, (shape.ffn,), i, "bias")
        t(M.V_ENC_FFN_DOWN, (h, shape.ffn), i)
        t(M.V_ENC_FFN_DOWN, (h,), i, "bias")
    # LLaVA's two-layer MLP projector: mm.0 (vision -> hidden), GELU, mm.2 (hidden -> text).
    t(M.V_MMPROJ, (shape.proj_hidden, h), 0)
    t(M.V_MMPROJ, (shape.proj_hidden,), 0, "bias")
    t(M.V_MMPROJ, (text_hidden, shape.proj_hidden), 2)
    t(M.V_MMPROJ, (text_hidden,), 2, "bias")
    _finish(w)
    return path


def _finish(w) -> None:
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def write_tiny_vlm(directory: str | Path, shape: TextShape = TextShape(), f16: bool = False) -> tuple[Path, Path]:
    """(model.gguf, mmproj.gguf) in `directory`."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    kind = "f16" if f16 else "f32"
    return (write_text_model(d / f"tiny-{shape.arch}-{kind}.gguf", shape, f16=f16),
            write_mmproj(d / "mmproj-tiny-f32.gguf", text_hidden=shape.hidden))
