"""Every behaviour the estimator models, per runner and version range, with where the runtime does it
(a file in its repository, a pull request, a release, or a log line a user pasted). runtimes.py looks
them up and applies them; docs/estimation.md lists them. Data only: no imports beyond typing."""


from typing import NamedTuple


class Behaviour(NamedTuple):
    runner: str
    name: str
    since: str | None  # first version it applies to (None: all known)
    until: str | None  # first version it no longer applies to
    what: str
    source: str


BEHAVIOURS = (
    Behaviour("llama.cpp", "flash_attention_default", None, "b6343", "FA off unless -fa is given",
              "llama.cpp common/arg.cpp before the on/off/auto change; WasmEdge PR #4343 (bump to b6343) records "
              "the bool -> on|off|auto switch"),
    Behaviour("llama.cpp", "flash_attention_default", "b6343", None, "-fa auto: on where the backend supports it",
              "llama.cpp PR #15746 common/arg.cpp ('on', 'off', or 'auto', default from params.flash_attn_type); "
              "containers/ramalama PR #2359 ('--flash-attn now defaults to auto'); measured on build 0c1e570 "
              "(shared/reference/runtimes.md)"),
    Behaviour("ollama", "flash_attention_default", None, "0.12.4", "off unless OLLAMA_FLASH_ATTENTION=1",
              "ollama server config OLLAMA_FLASH_ATTENTION:false in 0.6.x logs (ollama#10385, #9934)"),
    Behaviour("ollama", "flash_attention_default", "0.12.4", None,
              "enabled automatically for models that support it (FlashAttention:Enabled for qwen3vl, "
              "Disabled for qwen25vl in load requests)",
              "ollama PR #12473 ('As we automatically enable flash attention for more models'), PR #13448; "
              "load requests in ollama#14548 (qwen3vl) and ollama#14312 (qwen2.5vl, 0.16.3)"),
    Behaviour("vllm", "flash_attention_default", None, None, "FlashAttention backend on CUDA (not a flag)",
              "vLLM log 'Using Flash Attention backend' (gpustack#1800, vLLM 0.8.x); VLLM_ATTENTION_BACKEND overrides"),
    Behaviour("transformers", "flash_attention_default", None, None,
              "attn_implementation sdpa by default; flash_attention_2 on request",
              "transformers modeling_utils _autoset_attn_implementation (sdpa default since 4.36)"),
    Behaviour("llama.cpp", "compute_buffer", None, None,
              "max(4 ub (vocab + n_embd) output, FA off: 4 ub n_ctx n_head KQ scores) + KQ mask ub n_ctx x (2 B FA on,"
              " 4 B off)",
              "measured: tiny model 5.01 / 40.76 MiB at -c 4096 FA on/off (shared/reference/runtimes.md); "
              "Qwen2-VL-7B 304.00 MiB at 4096 FA off (llama.cpp#12405); Qwen3-VL-8B 352.77 MiB at 16384 FA on "
              "(lmstudio-bug-tracker#1176)"),
    Behaviour("llama.cpp", "ctx_rounding", None, None, "llama-server rounds -c up to a multiple of 256",
              "measured 4800 -> 4864 on build 0c1e570 (shared/reference/runtimes.md)"),
    Behaviour("llama.cpp", "swa_cells", None, "b5450", "sliding-window layers keep the whole context",
              "before llama.cpp PR #13194 (kv-cache: add SWA support, May 2025)"),
    Behaviour("llama.cpp", "swa_cells", "b5450", None,
              "sliding-window layers keep pad(min(n_ctx, n_swa + n_ubatch), 256) cells (unless --swa-full)",
              "llama.cpp PR #13194; qualcomm/GenieX PR #1346 quotes llama_kv_cache_iswa 'pad(min(n_ctx, n_swa + "
              "n_ubatch), 256) = 1536' at n_swa 512"),
    Behaviour("ollama", "swa_cells", None, "0.6.5", "sliding-window layers keep the whole context",
              "ollama#9791 (0.6.1): gemma3:12b memory.required.kv 3.0 GiB at 2048 x 4 parallel = all 48 layers x "
              "8192 cells"),
    Behaviour("ollama", "swa_cells", "0.6.5", None, "sliding-window layers keep num_parallel x window + batch cells",
              "ollama fs/ggml/ggml.go GraphSize (shared/reference/vram-estimation.md 1b); gemma3:12b "
              "memory.required.kv 608.0 MiB at 2048 in 0.6.5 (ollama#10341) = 8 x 2048 + 40 x 1536 cells"),
    Behaviour("transformers", "swa_cells", None, None, "HybridCache keeps the window in sliding layers",
              "hf-mem safetensors/kv_cache.py: min(sliding_window, len) for sliding layers"),
    Behaviour("ollama", "vision_reservation", None, "0.13.4", "no vision graph counted in `ollama ps`",
              "ollama#13722: qwen2.5vl:7b at 16384 shows 9.4 GB in 0.13.3"),
    Behaviour("ollama", "vision_reservation", "0.13.4", None,
              "reserves the graph for a 2048x2048 dummy image (after the model's own resize) in a full batch",
              "ollama runner/ollamarunner/runner.go reserveWorstCaseGraph ('Encode a 2048x2048 image'); "
              "ollama#13722: the same model shows 14 GB from 0.13.4"),
    Behaviour("ollama", "qwen_image_cap", None, None,
              "qwen2.5vl images resized to at most 28*28*1280 pixels (1280 tokens): 2048x2048 becomes 980x980",
              "dogkeeper886/ollama37#63 table (qwen25vl image size 980, 4,900 patches) from ollama's qwen25vl "
              "image processor; the old llm/memory.go estimator that also used 1280 was deleted"),
    Behaviour("ollama", "default_context", None, "0.6.7", "num_ctx 2048 unless set (OLLAMA_CONTEXT_LENGTH from 0.5.13)",
              "ollama api/types.go DefaultOptions NumCtx 2048 (v0.5.12); envconfig/config.go "
              "Uint(\"OLLAMA_CONTEXT_LENGTH\", 2048) from v0.5.13 (commit 314573b, PR #8938)"),
    Behaviour("ollama", "default_context", "0.6.7", "0.15.5", "num_ctx 4096 unless set",
              "ollama envconfig/config.go Uint(\"OLLAMA_CONTEXT_LENGTH\", 4096), commit 44b466e (first in v0.6.7)"),
    Behaviour("ollama", "default_context", "0.15.5", None,
              "num_ctx from the total VRAM of all GPUs (less OLLAMA_GPU_OVERHEAD): >= 47 GiB 262144, >= 23 GiB "
              "32768, else 4096, unless OLLAMA_CONTEXT_LENGTH, the Modelfile or the request sets it",
              "ollama commit 0334ffa 'server: use tiered VRAM-based default context length' (first in v0.15.5): "
              "server/routes.go Serve (switch totalVRAM >= 47*format.GibiByte ...), envconfig/config.go default 0; "
              "server/routes_options_test.go TestModelOptionsNumCtxPriority"),
    Behaviour("ollama", "context_floor_qwen3vl", "0.12.7", "0.15.5",
              "qwen3vl / qwen3vlmoe get num_ctx >= 8192 unless total VRAM < 20 GiB (OLLAMA_CONTEXT_LENGTH below it "
              "is ignored)",
              "ollama v0.12.7 server/routes.go scheduleRunner (opts.NumCtx = max(opts.NumCtx, 8192), lowVRAMThreshold "
              "20 GiB), removed by 0334ffa; ollama#12855 (0.12.7: 'The context size always remains at 8192'), "
              "ollama#12846 (qwen3-vl:30b on an RTX 3090, 0.12.7: CONTEXT 8192 in `ollama ps`)"),
    Behaviour("ollama", "context_floor_vision", "0.11.5", None, "vision models get num_ctx >= 2048",
              "ollama server/sched.go GetRunner ('multimodal models require at least 2048 context', first in "
              "v0.11.5; llm/memory.go applied the same floor to its estimate before)"),
    Behaviour("ollama", "context_clamp_train", "0.9.3", None, "num_ctx above the model's trained context is cut to it",
              "ollama llm/server.go NewLlamaServer ('requested context size too large for model', first in v0.9.3)"),
    Behaviour("ollama", "default_parallel", None, "0.6.7",
              "OLLAMA_NUM_PARALLEL unset: 4 parallel slots when they fit (else 1); the KV cache and graph are sized "
              "for num_ctx x slots; mllama always 1",
              "ollama server/sched.go defaultParallel = 4 and pickBestFullFitByLibrary (numParallelToTry "
              "defaultParallel, 1; req.opts.NumCtx = req.origNumCtx * p), v0.2.0-v0.6.6"),
    Behaviour("ollama", "default_parallel", "0.6.7", "0.10.0", "OLLAMA_NUM_PARALLEL unset: 2 slots when they fit",
              "ollama server/sched.go defaultParallel = 2 (v0.6.7-v0.9.6)"),
    Behaviour("ollama", "default_parallel", "0.10.0", None, "OLLAMA_NUM_PARALLEL unset: 1 slot",
              "ollama server/sched.go defaultParallel = 1 (v0.10.0; the multi-try loop removed in v0.12.0)"),
    Behaviour("vllm", "encoder_cache", None, None,
              "profiles the vision encoder with dummy images of the maximum feature size and keeps an encoder "
              "cache of max(max_num_batched_tokens, largest item) tokens",
              "vLLM gpu_model_runner log 'Encoder cache will be initialized with a budget of 16384 tokens, and "
              "profiled with 1 image items of the maximum feature size' (vllm#16570 0.8.3, vllm#27706)"),
    Behaviour("vllm", "mm_processor_kwargs", None, None,
              "--mm-processor-kwargs '{\"max_pixels\": N}' caps Qwen-VL images, and with them the dummy image vLLM "
              "profiles",
              "vllm#16570 (--mm_processor_kwargs max_pixels 1280 ... 'Encoder cache will be initialized with a budget "
              "of 2048 tokens'); QwenLM/Qwen2-VL README (max_pixels in preprocessor_config.json for vLLM)"),
    Behaviour("vllm", "kv_pool", None, None,
              "allocates gpu_memory_utilization (0.9) x total memory; what weights and the profile run leave is KV pool",
              "vllm#17891 ('vLLM allocates the rest of the GPU for KV cache ... set gpu_memory_utilization')"),
    Behaviour("transformers", "full_logits", None, "4.45.0",
              "prefill materialises logits for every prompt position, upcast to fp32: vocab x (2 + 4) B per token",
              "huggingface/transformers#30860 ('logits = logits.float()' in every forward); Qwen2-VL tables: "
              "+0.93 GB per 1k prompt tokens (QwenLM/Qwen2-VL README, Speed Benchmark)"),
    Behaviour("transformers", "full_logits", "4.45.0", None,
              "generate() asks for the last position only (num_logits_to_keep / logits_to_keep) in models that "
              "support it; Qwen2-VL's forward kept computing all positions until 4.49 [I: release not verified]",
              "huggingface/transformers PR #31292 (Llama, Mistral first); QwenLM/Qwen3-VL#180 (Qwen2-VL still "
              "computes all positions, Sept 2024)"),
)
