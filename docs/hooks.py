"""mkdocs hooks (not published with the site).

* A page containing ``<!-- semantic-matrix -->`` gets the table built from each dialect module's
  ``SEMANTICS`` dict, so the documentation cannot drift from the code.
* A page containing ``<!-- golden-tags -->`` gets the table of each dialect's golden-case tags
  (what ``--tags`` / ``--skip-tags`` accept), read from the golden files.
* The docstrings' reST math (``:math:`x``` roles and ``.. math::`` paragraphs, rendered by
  mkdocstrings as code) becomes arithmatex markup that MathJax typesets, like ``$x$`` in pages.
"""

from __future__ import annotations

import html
import importlib
import re
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


TAGS_MARKER = "<!-- golden-tags -->"


def golden_tags() -> str:
    """One row per dialect with golden data: its number of cases, its APIs and its tags (with counts)."""
    from unified_ce.conformance import GOLDEN_DIR, load

    rows = ["| dialect | cases | APIs | tags (cases) |", "|---|---|---|---|"]
    for path in sorted(GOLDEN_DIR.glob("*.json")):
        cases = load(path)["cases"]
        counts: dict[str, int] = {}
        for c in cases:
            for t in c.get("tags", []):
                counts[t] = counts.get(t, 0) + 1
        apis = ", ".join(f"`{a}`" for a in sorted({c["api"] for c in cases}))
        tags = ", ".join(f"`{t}` ({n})" for t, n in sorted(counts.items()))
        rows.append(f"| {path.stem} | {len(cases)} | {apis} | {tags} |")
    return "\n".join(rows) + "\n"


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    if MARKER in markdown:
        markdown = markdown.replace(MARKER, semantic_matrix())
    if TAGS_MARKER in markdown:
        markdown = markdown.replace(TAGS_MARKER, golden_tags())
    return markdown


_ROLE = re.compile(r":math:<code>(.*?)</code>", re.S)
_BLOCK = re.compile(r"<p>\.\. math::\s*(.*?)</p>", re.S)


def _tex(fragment: str) -> str:
    """HTML of a math fragment back to TeX (markdown may have read ``_a_`` as emphasis)."""
    fragment = re.sub(r"</?em>", "_", fragment)
    fragment = re.sub(r"<[^>]+>", "", fragment)
    return html.escape(html.unescape(fragment), quote=False)


def rest_math_to_arithmatex(page_html: str) -> str:
    """``:math:`x``` (rendered as ``:math:<code>x</code>``) and ``.. math::`` paragraphs -> MathJax."""
    page_html = _BLOCK.sub(lambda m: f'<div class="arithmatex">\\[{_tex(m.group(1))}\\]</div>', page_html)
    return _ROLE.sub(lambda m: f'<span class="arithmatex">\\({_tex(m.group(1))}\\)</span>', page_html)


def on_page_content(html_text: str, **kwargs: Any) -> str:
    return rest_math_to_arithmatex(html_text)
