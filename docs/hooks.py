"""mkdocs hook: generate the cross-dialect semantic-difference matrix from the adapters' own tables.

A page containing ``<!-- semantic-matrix -->`` gets the table built from each dialect module's
``SEMANTICS`` dict, so the documentation cannot drift from the code.
"""

from __future__ import annotations

import importlib
from typing import Any

MARKER = "<!-- semantic-matrix -->"


def semantic_matrix() -> str:
    from unified_ce.adapters import DIALECTS

    tables = {d: importlib.import_module(f"unified_ce.adapters.{d}").SEMANTICS for d in DIALECTS}
    rows = list(next(iter(tables.values())))
    head = "| | " + " | ".join(DIALECTS) + " |\n|---|" + "---|" * len(DIALECTS) + "\n"
    body = "".join(
        f"| **{row}** | " + " | ".join(str(tables[d].get(row, "")).replace("|", "\\|") for d in DIALECTS) + " |\n"
        for row in rows
    )
    return head + body


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    if MARKER in markdown:
        markdown = markdown.replace(MARKER, semantic_matrix())
    return markdown
