"""The catalog: models, hosted APIs, GPUs and tasks.

- `specs`: the value types every other module reads, and the loaded tables with their look-ups;
- `schema` + `validate`: the typed schema (pydantic) and its problems, with file, line and field;
- `loader`: reading with limits, the JSON cache, overlays (`--catalog`, the user's directory).

The shipped YAML lives in the package (`vlmselect.catalog_data`); docs/catalog.md describes the format.
"""

from vlmselect.catalog.build import as_date as _as_date
from vlmselect.catalog.loader import (
    CACHE_SCHEMA,
    MAX_DEPTH,
    MAX_FILE_BYTES,
    MAX_NODES,
    CatalogError,
    clear_memo,
    load_catalog,
    load_file,
    shipped_dir,
    user_catalog_paths,
    validate_path,
)
from vlmselect.catalog.specs import (
    API_RULES,
    CAPABILITIES,
    EXTRA_CAPABILITIES,
    GB_PER_GIB,
    IMAGE_RULES,
    KINDS,
    LOCAL_RULES,
    ApiSpec,
    Arch,
    Catalog,
    GpuSpec,
    ModelSpec,
    TaskSpec,
    gb_to_gib,
)

__all__ = [
    "API_RULES", "CACHE_SCHEMA", "CAPABILITIES", "EXTRA_CAPABILITIES", "GB_PER_GIB", "IMAGE_RULES", "KINDS",
    "LOCAL_RULES", "MAX_DEPTH", "MAX_FILE_BYTES", "MAX_NODES", "ApiSpec", "Arch", "Catalog", "CatalogError",
    "GpuSpec", "ModelSpec", "TaskSpec", "_as_date", "clear_memo", "gb_to_gib", "load_catalog", "load_file",
    "shipped_dir", "user_catalog_paths", "validate_path",
]
