"""The docs cannot drift: the semantic matrix comes from the adapters, and the examples run."""

from __future__ import annotations

import doctest
import importlib
import importlib.util
from pathlib import Path

import pytest

from unified_ce.adapters import DIALECTS

ROOT = Path(__file__).resolve().parents[1]


def _module(d: str):  # type: ignore[no-untyped-def]
    try:
        return importlib.import_module(f"unified_ce.adapters.{d}")
    except ModuleNotFoundError:
        pytest.skip(f"dialect {d} not available")


def test_every_dialect_answers_every_matrix_question() -> None:
    keys = {d: tuple(_module(d).SEMANTICS) for d in DIALECTS}
    reference = keys["torch"]
    for d, k in keys.items():
        assert set(k) == set(reference), f"{d}: {set(k) ^ set(reference)}"


def test_matrix_is_generated_from_the_adapters() -> None:
    spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "docs" / "hooks.py")
    assert spec and spec.loader
    hooks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hooks)
    page = hooks.on_page_markdown("before\n<!-- semantic-matrix -->\nafter")
    for d in DIALECTS:
        assert d in page
    torch_row = _module("torch").SEMANTICS["mean divides by"]
    assert torch_row.replace("|", "\\|") in page


@pytest.mark.parametrize("page", ["concepts.md", "index.md", "scaling.md"])
def test_doc_examples_run(page: str) -> None:
    result = doctest.testfile(
        str(ROOT / "docs" / page), module_relative=False, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    )
    assert result.failed == 0


def test_dialect_pages_exist() -> None:
    for d in DIALECTS:
        assert (ROOT / "docs" / "dialects" / f"{d}.md").exists(), d


# --- the built site -----------------------------------------------------------------------------------


def test_docs_cite_nothing_outside_the_repository() -> None:
    """No file outside the repository (../shared/...) and no tracker numbers ("issue 5") in the docs."""
    import re

    pages = [*sorted((ROOT / "docs").rglob("*.md")), ROOT / "README.md"]
    bad = []
    for page in pages:
        for i, line in enumerate(page.read_text().splitlines(), 1):
            if "../shared" in line or re.search(r"\bissues? #?\d", line, flags=re.I):
                bad.append(f"{page.relative_to(ROOT)}:{i}: {line.strip()}")
    assert not bad, "\n".join(bad)


def test_rest_math_becomes_mathjax_markup() -> None:
    spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "docs" / "hooks.py")
    assert spec and spec.loader
    hooks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hooks)
    html = "<p>with :math:<code>w_y &lt; 1</code> and</p>\n<p>.. math:: L = <em>a</em> + b</p>"
    out = hooks.rest_math_to_arithmatex(html)
    assert ":math:" not in out and ".. math::" not in out
    assert '<span class="arithmatex">\\(w_y &lt; 1\\)</span>' in out
    assert '<div class="arithmatex">\\[L = _a_ + b\\]</div>' in out


def _chromium() -> str | None:
    import shutil

    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if shutil.which(name):
            return shutil.which(name)
    return None


#: Runs in the page after it loaded: raw reST math left in the text, math elements, tables wider
#: than the window that do not scroll, images wider than the content column.
_PROBE = """<script>
window.addEventListener("load", () => setTimeout(() => {
  const text = document.body.innerText;
  const width = document.documentElement.clientWidth;
  const scrolls = (el) => {
    for (let p = el; p; p = p.parentElement) {
      const o = getComputedStyle(p).overflowX;
      if (o === "auto" || o === "scroll") return true;
    }
    return false;
  };
  const cut = [...document.querySelectorAll("article table")].filter(
    (t) => t.getBoundingClientRect().right > width + 1 && !scrolls(t)).length;
  const article = document.querySelector("article") || document.body;
  const wideImages = [...article.querySelectorAll("img")].filter(
    (i) => i.getBoundingClientRect().width > article.clientWidth + 1).length;
  const result = {raw: text.includes(":math:") || text.includes(".. math::"),
                  math: document.querySelectorAll(".arithmatex").length, cut: cut, wideImages: wideImages};
  document.body.setAttribute("data-probe", JSON.stringify(result));
}, 300));
</script>"""


@pytest.mark.slow
def test_built_site_in_a_headless_browser(tmp_path: Path) -> None:
    """Build the site (mkdocs --strict) and open every page in headless Chromium: no raw ``:math:``,
    no table cut off at the right edge, no image wider than the page, no broken internal link, and
    nothing internal (``hooks.py``) published."""
    import html as html_lib
    import json
    import os
    import re
    import subprocess
    import sys
    from urllib.parse import unquote, urlsplit

    browser = _chromium()
    if browser is None or importlib.util.find_spec("mkdocs") is None:
        if os.environ.get("UNIFIED_CE_REQUIRE_BROWSER"):
            pytest.fail("UNIFIED_CE_REQUIRE_BROWSER is set but chromium or mkdocs is missing")
        pytest.skip("needs chromium (apt-get install chromium) and the docs extra (pip install -e '.[docs]')")
    site = tmp_path / "site"
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert build.returncode == 0, build.stderr[-3000:]
    assert not list(site.rglob("hooks.py")), "docs/hooks.py was published"
    pages = [p for p in sorted(site.rglob("*.html")) if p.name != "404.html" and "assets" not in p.parts]
    assert len(pages) >= 10

    problems: list[str] = []
    ids: dict[Path, set[str]] = {p: set(re.findall(r'\bid="([^"]+)"', p.read_text())) for p in pages}
    for page in pages:
        text = page.read_text()
        for href in re.findall(r'\bhref="([^"]+)"', text):
            parts = urlsplit(html_lib.unescape(href))
            if parts.scheme or parts.netloc or href.startswith(("mailto:", "javascript:")):
                continue
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                problems.append(f"{page.relative_to(site)}: broken link {href}")
            elif parts.fragment and target in ids and parts.fragment not in ids[target]:
                problems.append(f"{page.relative_to(site)}: link to a missing anchor {href}")
        probe_page = page.with_name(page.stem + ".probe.html")
        probe_page.write_text(text.replace("</body>", _PROBE + "</body>"))
        dom = subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1280,900",
             "--virtual-time-budget=4000", "--dump-dom", probe_page.as_uri()],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        m = re.search(r'data-probe="([^"]*)"', dom.stdout)
        assert m, f"{page}: the probe did not run (chromium: {dom.stderr[-500:]})"
        found = json.loads(html_lib.unescape(m.group(1)))
        name = page.relative_to(site)
        if found["raw"]:
            problems.append(f"{name}: raw reST math in the text")
        if found["cut"]:
            problems.append(f"{name}: {found['cut']} table(s) cut off at the right edge")
        if found["wideImages"]:
            problems.append(f"{name}: {found['wideImages']} image(s) wider than the page")
        if name.as_posix() == "api/index.html":
            assert found["math"] > 20, "the API reference's math is not marked up for MathJax"
    assert not problems, "\n".join(problems)


def test_browser_probe_finds_raw_math_and_cut_tables(tmp_path: Path) -> None:
    """The probe of the site check reports what it should on a page that has the problems."""
    import html as html_lib
    import json
    import os
    import re
    import subprocess

    browser = _chromium()
    if browser is None:
        if os.environ.get("UNIFIED_CE_REQUIRE_BROWSER"):
            pytest.fail("UNIFIED_CE_REQUIRE_BROWSER is set but chromium is missing")
        pytest.skip("needs chromium (apt-get install chromium)")
    cells = "".join(f"<td>column{i}_with_a_long_unbreakable_value</td>" for i in range(40))
    page = tmp_path / "bad.html"
    page.write_text(
        "<html><body><article><p>the loss :math:`x` here</p>"
        f"<table><tr>{cells}</tr></table><img src='x.png' width='5000' height='10'></article>"
        + _PROBE
        + "</body></html>"
    )
    dom = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1280,900",
         "--virtual-time-budget=4000", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    m = re.search(r'data-probe="([^"]*)"', dom.stdout)
    assert m, dom.stderr[-500:]
    found = json.loads(html_lib.unescape(m.group(1)))
    assert found == {"raw": True, "math": 0, "cut": 1, "wideImages": 1}, found
