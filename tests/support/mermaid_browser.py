"""Mermaid blocks rendered by Mermaid itself, in headless Chromium, offline.

A local page loads the ``mermaid`` npm package's own bundle (``.mermaid/``,
which ``make test`` installs) over ``file://`` and calls ``mermaid.parse`` and
``mermaid.render`` on each block; Chromium's ``--dump-dom`` hands back the
page with each block's SVG or error.  Chromium is Debian's, which ``.ci/run``
installs.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MERMAID_JS = REPO / ".mermaid" / "node_modules" / "mermaid" / "dist" / "mermaid.min.js"
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: Fenced ```mermaid blocks of a Markdown document.
BLOCK = re.compile(r"^```mermaid\n(.*?)^```$", re.MULTILINE | re.DOTALL)
#: Mermaid renders asynchronously; Chromium dumps the page once this much virtual time has passed idle.
VIRTUAL_TIME_BUDGET_MS = 30_000

# The page writes one JSON result into <pre id="results"> when every block is done, so a dump
# taken earlier has no results (an error, not a pass).
_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><script src="{script}"></script></head>
<body><pre id="results"></pre>
<script id="blocks" type="application/json">{blocks}</script>
<script>
(async () => {{
  const blocks = JSON.parse(document.getElementById("blocks").textContent);
  mermaid.initialize({{startOnLoad: false, securityLevel: "strict"}});
  const results = [];
  for (const [index, source] of blocks.entries()) {{
    try {{
      await mermaid.parse(source);
      const {{svg}} = await mermaid.render("block" + index, source);
      // The size each piece of text is drawn at, read from the rendered SVG in the page.
      const shown = document.createElement("div");
      shown.innerHTML = svg;
      document.body.appendChild(shown);
      const sizes = [...shown.querySelectorAll("text, tspan, foreignObject span, foreignObject p")]
        .filter((element) => element.textContent.trim())
        .map((element) => parseFloat(getComputedStyle(element).fontSize));
      shown.remove();
      results.push({{svg, sizes}});
    }} catch (error) {{
      results.push({{error: String(error && error.message || error)}});
    }}
  }}
  document.getElementById("results").textContent = JSON.stringify(results);
}})();
</script></body></html>
"""


@dataclass(frozen=True)
class Rendered:
    """One block as Mermaid saw it: its SVG and the font size (px) of each text drawn, or the error it raised."""

    source: str
    svg: str = ""
    text_sizes_px: tuple[float, ...] = ()
    error: str | None = None


def chromium() -> str | None:
    """The headless browser on PATH, if any."""
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)




def blocks(markdown: str) -> list[str]:
    """The source of every ```mermaid block of ``markdown``, in order."""
    return BLOCK.findall(markdown)


def render(sources: list[str], work: Path) -> list[Rendered]:
    """Render each Mermaid source in headless Chromium; ``work`` holds the page and the browser profile.

    Raises ``AssertionError`` when the page produced no results (the browser
    failed, or Mermaid did not finish in time).
    """
    browser = chromium()
    assert browser, "no Chromium on PATH"
    assert MERMAID_JS.is_file(), f"{MERMAID_JS} is missing: `make test` installs the mermaid npm package"
    # "</" inside the JSON would close the <script> element early.
    payload = json.dumps(sources).replace("</", "<\\/")
    page = work / "mermaid.html"
    page.write_text(_PAGE.format(script=MERMAID_JS.as_uri(), blocks=payload), encoding="utf-8")
    done = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", f"--user-data-dir={work / 'profile'}",
         f"--virtual-time-budget={VIRTUAL_TIME_BUDGET_MS}",
         "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )
    found = re.search(r'<pre id="results">(.*?)</pre>', done.stdout, re.DOTALL)
    assert found and found.group(1), f"Chromium gave no Mermaid results (exit {done.returncode}): {done.stderr[-2000:]}"
    results = json.loads(html.unescape(found.group(1)))
    return [Rendered(source, result.get("svg", ""), tuple(result.get("sizes", ())), result.get("error"))
            for source, result in zip(sources, results, strict=True)]
