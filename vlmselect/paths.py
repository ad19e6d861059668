"""Where vlmselect keeps the user's files. Each has an environment override (tests use them)."""

import os
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
        return Path(os.environ.get(var) or Path.home() / default) / "vlmselect"
    import platformdirs

    return Path(getattr(platformdirs, f"user_{kind}_dir")("vlmselect"))
