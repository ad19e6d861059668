"""`snippet` and recommend's API next steps: choose the runner, quant and server command the way
`estimate` does on this machine, then build the snippet (snippet.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vlmselect.catalog import ApiSpec, Catalog, ModelSpec, TaskSpec
from vlmselect.memory import Workload
from vlmselect.snippet import Snippet, build, default_runner

if TYPE_CHECKING:
    import datetime as dt

    from vlmselect.hardware.types import HardwareProfile


def make_snippet(cat: Catalog, item: ModelSpec | ApiSpec, task: TaskSpec | None, w: Workload,
                 hw: HardwareProfile | None, runner: str | None = None, lang: str = "python", image: str = "image.jpg",
                 quant: str | None = None, low_detail: bool = False, trust_remote_code: bool = False,
                 video: str = "video.mp4", today: dt.date | None = None) -> Snippet:
    if isinstance(item, ApiSpec):
        if quant:
            from vlmselect.errors import UsageError

            raise UsageError(f"{item.id} is a hosted API: --quant is for local models", "drop --quant")
        sn = build(item, task, w, runner, lang, image, low_detail=low_detail, video=video)
        return sn._replace(notes=(*_status_notes(item, today, cat.apis), *sn.notes))
    from vlmselect.quant import QUANTS
    from vlmselect.quant import quant as parse_quant

    runner = runner or default_runner(item)
    q = parse_quant(quant) if quant else None
    command = None
    if hw is not None:
        from vlmselect.catalog_views import estimate_one

        d = estimate_one(cat, item, quant, runner, w, hw)
        q = QUANTS[d["quant"]]
        command = d.get("command")
    if q is None:  # no machine to choose for: the runner's usual default
        q = QUANTS["q4_k_m" if runner in ("ollama", "llama.cpp") else "bf16"]
    server = command if runner in ("llama.cpp", "vllm") else None
    return build(item, task, w, runner, lang, image, quant=q, trust_remote_code=trust_remote_code,
                 server_command=server, low_detail=low_detail, video=video, hw=hw)


def _status_notes(api: ApiSpec, today: dt.date | None = None, apis: dict[str, ApiSpec] | None = None) -> tuple[str, ...]:
    """The snippet of a retired API would fail at the provider: say so, with the successor, rather than print it
    as if it worked (recommend already leaves retired APIs out)."""
    import datetime as dt

    from vlmselect.filters import retired_reason

    on = today or dt.date.today()
    status = api.status(on)
    succ = f"; successor: {api.successor}" if api.successor else ""
    if status == "retired":
        why = retired_reason(api, apis or {}, on)
        return (f"RETIRED: {why}; the provider rejects requests to {api.api_model or api.id}",)
    if status == "deprecated":
        return (f"deprecated since {api.deprecated}; retires {api.retired or 'on a date not announced'}{succ}",)
    return ()


def api_next_step(api: ApiSpec, task: TaskSpec, w: Workload) -> dict[str, Any]:
    """recommend's next step for an API pick: the command, and the code it prints."""
    import shlex

    sn = build(api, task, w)
    return {"command": shlex.join(["vlmselect", "snippet", api.id, "--task", task.id]), "lang": sn.lang,
            "code": sn.code, "env": list(sn.env)}
