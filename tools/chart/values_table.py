"""The values table of a chart's README, generated from values.yaml's `# --` comments (helm-docs' convention), so the
README cannot drift from the values.

    python tools/chart/values_table.py charts/kcd            # rewrite the table between the README's markers
    python tools/chart/values_table.py charts/kcd --check    # exit 1 when the table is stale (a test runs this)

A key is documented by a `# -- text` comment right above it (continued by the `#` lines that follow); its row shows
the key's dotted path, its type, its default (as YAML flow) and the text. Keys without such a comment are left out
unless a child has one.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

import yaml

START, END = "<!-- values:start -->", "<!-- values:end -->"
_KEY = re.compile(r"^(?P<indent>\s*)(?P<key>[A-Za-z0-9_.\-]+):")


def comments(text: str) -> dict[str, str]:
    """dotted key path -> its `# --` description."""
    found: dict[str, str] = {}
    stack: list[tuple[int, str]] = []
    pending: list[str] | None = None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("# --"):
            pending = [stripped[4:].strip()]
            continue
        if stripped.startswith("#") and pending is not None:
            pending.append(stripped[1:].strip())
            continue
        match = _KEY.match(line)
        if not match or stripped.startswith("-"):
            pending = None if not stripped else pending
            continue
        indent = len(match["indent"])
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, match["key"]))
        if pending:
            found[".".join(k for _, k in stack)] = " ".join(pending)
        pending = None
    return found


def _lookup(values: Any, path: str) -> Any:
    for part in path.split("."):
        values = values[part]
    return values


def _type(value: Any) -> str:
    return {bool: "bool", int: "int", float: "float", str: "string", list: "list", dict: "object"}.get(
        type(value), "null"
    )


def _default(value: Any) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
    text = text.removesuffix("\n...").removesuffix("...").strip()
    return f"`{text}`".replace("|", "\\|")


def table(chart: Path) -> str:
    text = (chart / "values.yaml").read_text()
    values = yaml.safe_load(text) or {}
    rows = ["| Key | Type | Default | Description |", "|-----|------|---------|-------------|"]
    for path, doc in comments(text).items():
        value = _lookup(values, path)
        cell = doc.replace("|", "\\|")
        rows.append(f"| `{path}` | {_type(value)} | {_default(value)} | {cell} |")
    return "\n".join(rows)


def render(readme: str, chart: Path) -> str:
    head, sep, rest = readme.partition(START)
    _, sep2, tail = rest.partition(END)
    if not sep or not sep2:
        raise SystemExit(f"{chart / 'README.md'}: markers {START} … {END} not found")
    return f"{head}{START}\n{table(chart)}\n{END}{tail}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chart", type=Path)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    readme_path = args.chart / "README.md"
    current = readme_path.read_text()
    wanted = render(current, args.chart)
    if args.check:
        if current != wanted:
            print(f"{readme_path}: the values table is stale; run python tools/chart/values_table.py {args.chart}")
            return 1
        return 0
    readme_path.write_text(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main())
