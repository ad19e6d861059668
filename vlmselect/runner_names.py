"""The one runner vocabulary: every place that reads a runner name from a user, a catalog or a
smoke record maps it here, aliases included."""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum


class Runner(str, Enum):
    """A runner. A str subclass, so `Runner.OLLAMA == "ollama"` and JSON/dict keys stay plain strings."""

    OLLAMA = "ollama"
    TRANSFORMERS = "transformers"
    LLAMA_CPP = "llama.cpp"
    VLLM = "vllm"

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)

    def __hash__(self) -> int:  # as the plain string: Runner.VLLM and "vllm" are one dict key
        return str.__hash__(self)

    @property
    def short(self) -> str:
        """The name pull and smoke records use ("hf" for transformers, as the CLI has always said)."""
        return "hf" if self is Runner.TRANSFORMERS else self.value


ALIASES: dict[str, Runner] = {
    "ollama": Runner.OLLAMA,
    "transformers": Runner.TRANSFORMERS, "hf": Runner.TRANSFORMERS, "huggingface": Runner.TRANSFORMERS,
    "llama.cpp": Runner.LLAMA_CPP, "llamacpp": Runner.LLAMA_CPP, "llama-cpp": Runner.LLAMA_CPP,
    "llama_cpp": Runner.LLAMA_CPP,
    "vllm": Runner.VLLM,
}


def runner_or_none(name: str | None) -> Runner | None:
    """The runner `name` means (any alias, any case), or None when it is none of them."""
    if name is None:
        return None
    return ALIASES.get(name.strip().lower())


def parse_runner(name: str, allowed: Iterable[Runner | str] | None = None, flag: str = "--runner") -> Runner:
    """The runner `name` means; a usage error naming the choices when it is unknown or not allowed here."""
    from vlmselect.errors import unknown

    choices = [Runner(str(a)) for a in allowed] if allowed is not None else list(Runner)
    r = runner_or_none(name)
    if r is None or r not in choices:
        names = [c.value for c in choices]
        raise unknown(flag.lstrip("-"), name, names, f"{flag}: one of {', '.join(names)}")
    return r
