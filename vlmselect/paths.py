"""Where vlmselect keeps the user's files. Each has an environment override (tests use them)."""

import os
import stat
import sys
from pathlib import Path

_XDG = {"config": ("XDG_CONFIG_HOME", ".config"), "cache": ("XDG_CACHE_HOME", ".cache"),
        "data": ("XDG_DATA_HOME", ".local/share")}


def user_dir(kind: str) -> Path:
    """config | cache | data: VLMSELECT_<KIND>_DIR, else the platform's convention."""
    override = os.environ.get(f"VLMSELECT_{kind.upper()}_DIR")
    if override:
        return Path(override)
    if sys.platform.startswith("linux"):
        # The XDG rules platformdirs applies on Linux, without importing it on the start-up path.
        var, default = _XDG[kind]
        return Path(os.environ.get(var) or home() / default) / "vlmselect"
    import platformdirs

    return Path(getattr(platformdirs, f"user_{kind}_dir")("vlmselect"))


def home() -> Path:
    """The user's home folder. Path.home() raises RuntimeError when HOME is unset and the user id
    has no entry in the password database (a container run as an arbitrary uid): say so, with the fix."""
    try:
        return Path.home()
    except (RuntimeError, KeyError):
        from vlmselect.errors import UsageError

        uid = os.getuid() if hasattr(os, "getuid") else "?"
        raise UsageError(f"cannot tell where your home folder is: HOME is not set and user id {uid} "
                         "has no entry in the password database",
                         "set HOME, or VLMSELECT_CONFIG_DIR, VLMSELECT_CACHE_DIR and VLMSELECT_DATA_DIR") from None


def _expand(p: str) -> str:
    return os.path.expandvars(os.path.expanduser(p))


def hf_home() -> Path:
    """HF_HOME as huggingface_hub.constants resolves it: `~` and $VARS expanded; default
    $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface."""
    default = os.path.join(os.getenv("XDG_CACHE_HOME", os.path.join(os.path.expanduser("~"), ".cache")), "huggingface")
    return Path(_expand(os.getenv("HF_HOME", default)))


def hf_hub_cache() -> Path:
    """The hub cache huggingface_hub downloads into: HF_HUB_CACHE, else the legacy
    HUGGINGFACE_HUB_CACHE, else HF_HOME/hub; expanded like HF_HOME. (Replicated rather than
    imported: importing huggingface_hub.constants freezes the environment at import time.)"""
    legacy = os.getenv("HUGGINGFACE_HUB_CACHE", os.path.join(str(hf_home()), "hub"))
    return Path(_expand(os.getenv("HF_HUB_CACHE", legacy)))


def ollama_models_dir() -> Path:
    """Where the Ollama server keeps models: OLLAMA_MODELS as written (the server's envconfig
    does not expand it), else ~/.ollama/models."""
    raw = os.environ.get("OLLAMA_MODELS")
    return Path(raw) if raw else home() / ".ollama" / "models"


def read_small_file(path: Path, limit: int) -> str | None:
    """The UTF-8 text of `path` when it is a plain file of at most `limit` bytes, else None (a
    cache or a record that is not one). Opened without blocking: a FIFO in its place would block
    open() itself; only a plain file is read, so /dev/zero cannot fill memory. Raises OSError
    (missing, unreadable) and ValueError (not UTF-8) as a read would."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # no effect on a plain file's reads
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > limit:
            return None
        with open(fd, "rb", closefd=False) as f:
            data = f.read(limit + 1)  # it may have grown since fstat
    finally:
        os.close(fd)
    return data.decode("utf-8") if len(data) <= limit else None
