"""One memory estimator for every command: weights + vision + KV cache + compute + overhead.

`estimate_memory` is pure: facts in (a ModelSpec, a quant, a runner, a workload), a
breakdown out, with the basis of every part so `--explain` can show it. The formulas and
their sources are in shared/reference/vram-estimation.md and docs/estimation.md.
"""


from typing import Any, NamedTuple

from vlmselect import runtimes as rtm
from vlmselect.catalog import ModelSpec, gb_to_gib
from vlmselect.imagetokens import ImageCost, model_image_tokens
from vlmselect.quant import Quant
from vlmselect.runtimes import Runtime, RuntimeOptions
from vlmselect.units import GIB, MIB

# Runtime constants, each with where it comes from.
OLLAMA_MINIMUM_MIB = 457  # ml/device.go MinimumMemory() for CUDA/ROCm [V]
OLLAMA_BATCH = 512  # api/types.go num_batch default [V]
OLLAMA_QWEN_MAX_TOKENS = 1280  # Ollama caps Qwen-VL images at 28*28*1280 pixels [V memory.go]
TORCH_CUDA_CONTEXT_GIB = 0.5  # CUDA context + cuBLAS workspace, 0.3-0.5 GiB [I]
TORCH_FRAGMENTATION = 0.05  # caching-allocator slack on top of live tensors [I]
LLAMA_CPP_CONTEXT_GIB = 0.3  # CUDA context of a llama-server process [I]
VLLM_OVERHEAD_GIB = 1.5  # CUDA context + CUDA graphs + sampler buffers [I]
VISION_HEADS = 16  # attention heads of a typical ViT-L/SO400M tower, for the P^2 term [I]
MMPROJ_BITS = {"f16": 16, "bf16": 16, "q8_0": 8.5, "f32": 32}  # runners.gguf.mmproj.precision


class Workload(NamedTuple):
    context: int = 4096  # text tokens in the prompt + history
    images: int = 1
    width: int = 1024
    height: int = 1024
    max_new_tokens: int = 256
    video: bool = False  # the images are frames of one clip
    runtime: RuntimeOptions | None = None  # --runner-version / --flash-attention / --kv-cache


class MemoryEstimate(NamedTuple):
    model_id: str
    quant: str
    runner: str
    image_tokens: int  # per image, in the context
    context_tokens: int  # text + image tokens + new tokens: what the KV cache holds
    weights_text_gib: float
    weights_vision_gib: float
    kv_cache_gib: float
    compute_gib: float
    overhead_gib: float
    basis: dict[str, Any] = {}  # part -> how it was computed
    weights_published: bool = False  # weights from a published artifact size
    encoder_patches: int = 0  # vision-encoder patches per image (for compute)
    runtime: Runtime | None = None  # the runner version and settings the estimate assumed
    kv_image_gib: float = 0.0  # the image tokens' share of kv_cache_gib (the rest holds text)

    @property
    def allocated_gib(self) -> float:
        """What the runtime's tensors take (torch.cuda.max_memory_allocated): the total less
        the CUDA context and allocator slack."""
        return self.weights_text_gib + self.weights_vision_gib + self.kv_cache_gib + self.compute_gib

    @property
    def total_gib(self) -> float:
        return (self.weights_text_gib + self.weights_vision_gib + self.kv_cache_gib
                + self.compute_gib + self.overhead_gib)

    @property
    def weights_gib(self) -> float:
        return self.weights_text_gib + self.weights_vision_gib

    def parts(self) -> dict[str, Any]:
        return {
            "weights_text": round(self.weights_text_gib, 3),
            "weights_vision": round(self.weights_vision_gib, 3),
            "kv_cache": round(self.kv_cache_gib, 3),
            "compute": round(self.compute_gib, 3),
            "overhead": round(self.overhead_gib, 3),
        }


# ---------------------------------------------------------------- weights


def _split_params(m: ModelSpec) -> tuple[float, float]:
    """(text, vision) parameters in billions; vision unknown -> 0 and text = total."""
    vis = m.params_vision_b or 0.0
    text = m.params_text_b if m.params_text_b is not None else max(m.params_total_b - vis, 0.0)
    return text, vis


def _embedding_params_b(m: ModelSpec) -> float:
    """Input embedding + lm_head parameters, which bnb/AWQ/GPTQ keep at 16 bits (both counted:
    untied is the common case for VLMs, and the catalog does not record tying)."""
    a = m.arch
    return a.vocab * a.hidden * 2 / 1e9 if a.vocab and a.hidden else 0.0


def published_weights(m: ModelSpec, q: Quant, runner: str) -> tuple[float, str] | None:
    """(GB, source) of the published artifact for this quant and runner, when the catalog has it."""
    r = m.runners
    if runner == "ollama":
        for tag in r.get("ollama") or []:
            if tag.get("quant") == q.id and tag.get("size_gb"):
                return float(tag["size_gb"]), f"Ollama tag {tag['tag']} ({tag.get('source', '')})"
    if runner in ("ollama", "llama.cpp"):
        g = r.get("gguf") or {}
        f = (g.get("files") or {}).get(q.id)
        mm = g.get("mmproj") or {}
        if f and f.get("size_gb") and mm.get("size_gb"):
            return float(f["size_gb"]) + float(mm["size_gb"]), f"GGUF {f.get('file', q.id)} + mmproj ({g.get('source', '')})"
    if runner in ("transformers", "vllm"):
        if q.fmt == "fp":
            t = r.get("transformers") or {}
            if t.get("size_gb"):  # published in 16 bits; fp32 on a CPU doubles it
                return float(t["size_gb"]) * q.bits / 16, f"safetensors total x {q.bits:g}/16 ({t.get('source', '')})"
        elif q.fmt in ("awq", "gptq", "fp8"):
            t = r.get(q.fmt) or {}
            if t.get("size_gb"):
                return float(t["size_gb"]), f"{t.get('repo', q.fmt)} safetensors ({t.get('source', '')})"
    return None


def _weights(m: ModelSpec, q: Quant, runner: str, explain: bool = True) -> tuple[float, float, str, bool]:
    """(text GiB, vision GiB, basis, published?); without `explain` the basis is left empty."""
    text_b, vis_b = _split_params(m)
    vision_bits = 16 if q.vision_16bit else q.bits
    if q.fmt == "gguf":  # the mmproj file's own precision when the catalog records it, else f16
        vision_bits = MMPROJ_BITS.get(str(((m.runners.get("gguf") or {}).get("mmproj") or {}).get("precision", "f16")), 16)
    vision_gib = vis_b * 1e9 * vision_bits / 8 / GIB
    pub = published_weights(m, q, runner)
    if pub:
        total_gib = gb_to_gib(pub[0])
        vision_gib = min(vision_gib, total_gib)
        return total_gib - vision_gib, vision_gib, f"published size {pub[0]:.2f} GB: {pub[1]}" if explain else "", True
    if q.fmt in ("bnb", "awq", "gptq", "fp8"):
        emb = min(_embedding_params_b(m), text_b)
        text_gib = ((text_b - emb) * q.bits + emb * 16) * 1e9 / 8 / GIB
        basis = "" if not explain else (f"{text_b - emb:.2f}B Linear params x {q.bits} bpw + {emb:.2f}B embedding/lm_head params x 16 bit"
                 f" + vision {vis_b:.2f}B x {vision_bits} bit ({q.basis})")
    else:
        text_gib = text_b * 1e9 * q.bits / 8 / GIB
        basis = "" if not explain else f"{text_b:.2f}B text params x {q.bits} bpw + vision {vis_b:.2f}B x 16 bit ({q.basis})"
    return text_gib, vision_gib, basis, False


# ---------------------------------------------------------------- KV cache


def kv_cache_bytes(m: ModelSpec, tokens: int, bytes_per_elem: float = 2.0, cross_tokens: int = 0,
                   window_cells: int | None = None) -> float:
    """2 x layers x kv_heads x head_dim x tokens x bytes; sliding-window layers hold `window_cells`
    (the runtime's rule, runtimes.swa_cells), by default the window itself."""
    a = m.arch
    per_token_layer = 2 * a.kv_heads * a.head_dim * bytes_per_elem
    sliding = min(a.sliding_layers, a.layers) if a.sliding_window else 0
    full_layers = a.layers - sliding
    window = window_cells if window_cells is not None else (a.sliding_window or tokens)
    total = per_token_layer * (full_layers * tokens + sliding * min(tokens, window))
    if a.cross_attention_layers and cross_tokens:
        total += per_token_layer * a.cross_attention_layers * cross_tokens
    return total


# ---------------------------------------------------------------- compute buffers


def _image_cost(m: ModelSpec, w: Workload, cap: int | None) -> tuple[ImageCost, str]:
    """What one image (or one video frame) costs. Families with a video path (`image_tokens.video`)
    cap frames at fewer tokens and merge `temporal_merge` consecutive frames into one token grid."""
    video = m.image_tokens.get("video") if w.video else None
    if not video:
        return model_image_tokens(m.image_tokens, w.width, w.height, cap_tokens=cap), ""
    if video.get("tokens"):  # a fixed cost per frame (LLaVA-Video pools each frame's grid)
        t, p = int(video["tokens"]), int(video.get("patches", video["tokens"]))
        return ImageCost(t, p, p), f"; video frames: {t} tokens each ({p} encoder patches pooled)"
    limit = min(x for x in (video.get("max_tokens"), cap) if x) if (video.get("max_tokens") or cap) else None
    img = model_image_tokens(m.image_tokens, w.width, w.height, cap_tokens=limit)
    merge = int(video.get("temporal_merge", 1))
    per = -(-img.tokens // merge)
    return img._replace(tokens=per, patches=-(-img.patches // merge)), (
        f"; video frames: at most {video.get('max_tokens')} tokens each, {merge} frames merged per token grid")


def _text_graph_bytes(m: ModelSpec, ctx: int, kv_bytes: float, rt: Runtime, ubatch: int,
                      explain: bool = True) -> tuple[float, str]:
    """ggml's text graph for one ubatch (runtimes.ggml_text_compute_bytes) when the config has
    what it needs, else Ollama's fallback (n_head / n_head_kv) x KV / 6."""
    a = m.arch
    if a.hidden and a.heads and a.vocab:
        g = rtm.ggml_text_compute_bytes(a.hidden, a.heads, a.vocab, ctx, rt.flash_attention, ubatch)
        return g, "" if not explain else (f"ggml text graph, ubatch {min(ubatch, ctx)}: max(4 ub (vocab+n_embd), "
                   + ("FA on" if rt.flash_attention else "FA off: 4 ub n_ctx n_head") + ") + KQ mask")
    ratio = (a.heads or a.kv_heads) / a.kv_heads
    return ratio * kv_bytes / 6, "Ollama fallback graph: (n_head/n_head_kv) x KV / 6"


def _vision_graph_bytes(patches: int) -> float:
    """Worst-case ViT activations: the P^2 attention scores dominate (4 bytes x P^2 x heads)."""
    return 4.0 * patches * patches * VISION_HEADS


def _torch_activation_bytes(m: ModelSpec, ctx: int) -> float:
    """Prefill activations in PyTorch: a few hidden-size buffers and the MLP's widest tensor per token."""
    a = m.arch
    hidden = a.hidden or (a.heads * a.head_dim if a.heads else a.kv_heads * a.head_dim * 4)
    return ctx * hidden * 2 * 12  # ~12 live hidden-size bf16 buffers per token during prefill [I]


# ---------------------------------------------------------------- the estimate


def _kv(m: ModelSpec, w: Workload, rt: Runtime, per_image: int, patches: int, kv_bytes: float,
        explain: bool = True) -> tuple[int, float, str]:
    """(window tokens, KV bytes, basis); without `explain` the basis is left empty."""
    a = m.arch
    if m.image_tokens["rule"] == "cross-attention":
        ctx = w.context + w.max_new_tokens
        cross = patches * min(w.images, 1)  # mllama takes one image per request
    else:
        ctx = w.context + per_image * w.images + w.max_new_tokens
        cross = 0
    if a.encoder_decoder:
        # Encoder-decoder OCR models (Nougat, Florence-2): the decoder's self-attention holds the
        # generated text (its prompt is a task token, not a chat); its cross-attention holds the
        # encoder's outputs, once per decoder layer.
        ctx = w.max_new_tokens
        kv = kv_cache_bytes(m, ctx, kv_bytes) + kv_cache_bytes(m, per_image * w.images, kv_bytes)
        return ctx, kv, "encoder-decoder: decoder self-attention over the output + cross-attention over the image tokens"
    cells = rtm.ctx_cells(rt, ctx)
    slots = ""
    if rt.runner == "ollama":
        # Ollama's floors raise the window; each parallel slot gets one (runtimes default_parallel).
        per_slot = rtm.ollama_window(rt.version, ctx, m.family, rt.total_vram_gib)
        cells = per_slot * rt.parallel
        if cells != ctx:
            slots = f", Ollama's window {per_slot}" + (f" x {rt.parallel} parallel slots" if rt.parallel > 1 else "")
    window = rtm.swa_cells(rt, cells, a.sliding_window, rt.parallel) if a.sliding_window else None
    kv = kv_cache_bytes(m, cells, kv_bytes, cross_tokens=cross, window_cells=window)
    if not explain:
        return cells, kv, ""
    basis = (f"2 x {a.layers} layers x {a.kv_heads} kv heads x {a.head_dim} x {cells} cells x {kv_bytes:g} B"
             f" ({rt.kv_cache}; {w.context} text + {w.images} x {per_image} image + {w.max_new_tokens} new"
             + (f", rounded up to {cells} by llama-server" if cells != ctx and rt.runner == "llama.cpp" else "")
             + slots + ")")
    if a.sliding_window and a.sliding_layers:
        basis += f"; {a.sliding_layers} sliding layers hold {window} cells ({rt.runner}'s rule)"
    if cross:
        basis += f"; + {a.cross_attention_layers} cross-attention layers x {cross} image tokens"
    return cells, kv, basis


def estimate_memory(m: ModelSpec, q: Quant, runner: str, w: Workload, kv_bytes: float | None = None,
                    explain: bool = True) -> MemoryEstimate:
    """Peak GPU memory of `m` at quant `q` on `runner` for workload `w` (all GiB). Without `explain`
    the same parts and totals, but no `basis` and no `kv_image_gib` (the pictures' split of the KV
    cache): ranking sizes ~300 options and explains the few it shows."""
    rt = rtm.resolve(runner, w.runtime, m.family, strict=False)
    kv_b = rtm.kv_bytes_per_elem(rt) if kv_bytes is None else kv_bytes
    cap = OLLAMA_QWEN_MAX_TOKENS if runner == "ollama" and m.image_tokens["rule"] == "qwen2-vl" else None
    img, frame_note = _image_cost(m, w, cap)
    per_image, patches = img.tokens, img.patches
    ctx, kv, kv_basis = _kv(m, w, rt, per_image, patches, kv_b, explain)
    # The image tokens' share of the cache: what it would shrink by without them (sliding-window
    # layers and llama-server's rounding make this less than proportional).
    kv_img = (kv - _kv(m, w._replace(images=0), rt, per_image, patches, kv_b, explain=False)[1]
              if w.images and explain else 0.0)

    text_gib, vision_gib, w_basis, published = _weights(m, q, runner, explain)
    has_vision = w.images > 0
    prompt_tokens = max(ctx - w.max_new_tokens, 1)

    if runner in ("ollama", "llama.cpp"):
        vis_seq, ubatch, v_note = img.seq, rtm.UBATCH, "the user's image"
        reserve = rtm.behaviour("ollama", "vision_reservation", rt.version) if runner == "ollama" else None
        if reserve is not None and reserve.since:
            # Ollama reserves for its worst case: a 2048x2048 image after the model's own resize,
            # whose tokens must share one batch (runner/ollamarunner/runner.go reserveWorstCaseGraph).
            big = model_image_tokens(m.image_tokens, rtm.OLLAMA_WORST_CASE_IMAGE, rtm.OLLAMA_WORST_CASE_IMAGE,
                                     cap_tokens=cap)
            vis_seq, ubatch = max(vis_seq, big.seq), max(ubatch, big.tokens)
            v_note = f"Ollama's worst case (2048x2048 -> {big.tokens} tokens in one batch)" if explain else ""
            has_vision = True
        g_text, g_basis = _text_graph_bytes(m, ctx, kv, rt, ubatch, explain)
        g_vis = _vision_graph_bytes(vis_seq) if has_vision else 0.0
        compute = (g_text + g_vis) / GIB
        c_basis = f"{g_basis}; vision graph 4 x P^2 x {VISION_HEADS} heads, P = {vis_seq} patches ({v_note})" if explain else ""
        if runner == "ollama":
            layer = text_gib * GIB / max(m.arch.layers, 1) + kv / max(m.arch.layers, 1)
            overhead = (OLLAMA_MINIMUM_MIB * MIB + layer) / GIB
            o_basis = f"Ollama MinimumMemory {OLLAMA_MINIMUM_MIB} MiB + one layer buffer (blk.0 + kv[0])"
        else:
            overhead = LLAMA_CPP_CONTEXT_GIB
            o_basis = f"CUDA context of llama-server ~{LLAMA_CPP_CONTEXT_GIB} GiB [I]"
    else:
        act = _torch_activation_bytes(m, ctx)
        vocab = m.arch.vocab or 0
        if rtm.full_logits(rt, m.family):
            logits = vocab * (2 + 4) * prompt_tokens  # bf16 logits + their fp32 upcast, every prompt position
            l_note = f"full-sequence logits {prompt_tokens} x vocab x (2 + 4) B (transformers {rt.version})" if explain else ""
        else:
            logits = vocab * 4 * 2  # last-position logits, fp32, two copies while sampling
            l_note = "last-position logits"
        if runner == "vllm":
            # vLLM profiles the vision encoder with its largest dummy image at start-up and keeps an
            # encoder cache; Qwen-VL's is capped at the user's image by the printed --mm-processor-kwargs.
            if rtm.vllm_caps_pixels(m.image_tokens) or not has_vision:
                prof = img
            else:
                prof = model_image_tokens(m.image_tokens, rtm.WORST_CASE_SIDE, rtm.WORST_CASE_SIDE)
            g_vis = prof.patches * rtm.VIT_WIDTH * 2 * rtm.VIT_LIVE_BUFFERS if has_vision else 0.0
            enc_cache = max(rtm.VLLM_ENCODER_BUDGET, prof.tokens) * (m.arch.hidden or 4096) * 2 if has_vision else 0.0
            compute = (max(act, logits) + g_vis + enc_cache) / GIB
            c_basis = "" if not explain else (f"max(prefill activations, {l_note}) + ViT profile on {prof.patches} patches (flash attention,"
                       f" {rtm.VIT_LIVE_BUFFERS} x {rtm.VIT_WIDTH}-wide bf16 buffers per patch) + encoder cache of"
                       f" {max(rtm.VLLM_ENCODER_BUDGET, prof.tokens)} tokens")
        else:
            g_vis = _vision_graph_bytes(img.seq) / 4 if has_vision else 0.0  # SDPA kernels keep ~1/4 of eager [I]
            # Activations and the logits are not live at once: the MLP buffers are freed before the lm_head.
            compute = (max(act, logits) + g_vis) / GIB
            c_basis = f"max(prefill activations ~12 hidden-size buffers per token, {l_note}) + ViT attention (SDPA)"
        live = text_gib + vision_gib + kv / GIB + compute
        if runner == "vllm":
            overhead = VLLM_OVERHEAD_GIB
            o_basis = (f"CUDA context + CUDA graphs ~{VLLM_OVERHEAD_GIB} GiB [I]; vLLM itself pre-allocates"
                       f" gpu_memory_utilization ({rtm.VLLM_GPU_MEMORY_UTILIZATION}) of the card for its KV pool")
        else:
            overhead = TORCH_CUDA_CONTEXT_GIB + TORCH_FRAGMENTATION * live
            o_basis = f"CUDA context {TORCH_CUDA_CONTEXT_GIB} GiB + {TORCH_FRAGMENTATION:.0%} allocator slack [I]"

    return MemoryEstimate(
        model_id=m.id, quant=q.id, runner=runner, image_tokens=per_image, context_tokens=ctx,
        weights_text_gib=text_gib, weights_vision_gib=vision_gib, kv_cache_gib=kv / GIB, kv_image_gib=kv_img / GIB,
        compute_gib=compute, overhead_gib=overhead, weights_published=published, encoder_patches=patches,
        runtime=rt,
        basis={} if not explain else {
            "weights": w_basis, "kv_cache": kv_basis, "compute": c_basis, "overhead": o_basis,
            "runtime": rtm.describe(rt),
            "image_tokens": f"{m.image_tokens['rule']} rule at {w.width}x{w.height}: {per_image} tokens"
                            + (f" (Ollama cap {cap})" if cap else "") + frame_note},
    )


def weights_only_gib(m: ModelSpec, q: Quant, runner: str) -> float:
    t, v, _, _ = _weights(m, q, runner)
    return t + v


def vllm_kv_pool(mem: MemoryEstimate, card_gib: float, utilization: float | None = None) -> tuple[float, int]:
    """(GiB, tokens) of the KV pool vLLM makes on a `card_gib` card: gpu_memory_utilization of the card
    less weights, the profile run's peak and the non-torch overhead (vllm#17891). Fewer tokens than
    the window and vLLM refuses to start ("max_model_len ... larger than the maximum number of tokens
    that can be stored in KV cache")."""
    util = rtm.VLLM_GPU_MEMORY_UTILIZATION if utilization is None else utilization
    pool = util * card_gib - (mem.weights_gib + mem.compute_gib + mem.overhead_gib)
    per_token = mem.kv_cache_gib / max(mem.context_tokens, 1)
    return max(pool, 0.0), int(max(pool, 0.0) / per_token) if per_token else 0
