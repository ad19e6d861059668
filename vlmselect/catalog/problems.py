"""Problems found in one catalog file, each with its file, line, entry id and field."""

from __future__ import annotations

from typing import Any

Loc = tuple[str | int, ...]


class Problems:
    """Collects every problem in a catalog file, with the line each one is on."""

    def __init__(self, path: str, text: str):
        self.path = path
        self.text = text
        self.items: list[str] = []
        self._root: Any = False  # False: not composed yet

    def _node(self) -> Any:
        # Composing again costs time, so only when there is something to report.
        if self._root is False:
            import yaml

            try:
                self._root = yaml.compose(self.text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
            except yaml.YAMLError:
                self._root = None
        return self._root

    def line_of(self, loc: Loc) -> int | None:
        """The line of the deepest node along `loc` (list indexes and mapping keys)."""
        import yaml

        node, line = self._node(), None
        for part in loc:
            if node is None:
                break
            nxt = None
            if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
                nxt = node.value[part]
                line = nxt.start_mark.line + 1
            elif isinstance(node, yaml.MappingNode):
                for k, v in node.value:
                    if isinstance(k, yaml.ScalarNode) and k.value == str(part):
                        nxt, line = v, k.start_mark.line + 1
                        break
            node = nxt
        return line

    def add_line(self, line: int | None, msg: str) -> None:
        self.items.append(f"{self.path}:{line}: {msg}" if line else f"{self.path}: {msg}")

    def add(self, loc: Loc | None, entry_id: str | None, fieldname: str | None, msg: str) -> None:
        line = self.line_of(loc) if loc is not None else None
        where = f"{self.path}:{line}" if line else self.path
        who = f" {entry_id}" if entry_id else ""
        what = f" {fieldname}:" if fieldname else ""
        self.items.append(f"{where}:{who}{what} {msg}")
