"""The pictures, rendered and measured: can a person read them where they are shown?

GitHub shows a Markdown image at most 980 px wide, scaling a larger one down.
The request-path picture is shown inline, so its text must stay at least 10 px
when scaled to 980 px; the full graph is linked, to open at full size, so its
text must be at least 10 px at its natural size.  Graphviz draws the SVGs
(installed here and by .ci/run); Mermaid's own bundle renders HANDOFF's Mermaid
blocks in headless Chromium (tests/support/mermaid_browser.py), which .ci/run
installs too.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from support import mermaid_browser
from webhook_templates.handoff import diagram
from webhook_templates.handoff.bundle import PATH_SVG_NAME, SVG_NAME
from webhook_templates.handoff.render import RenderedFile

PAGE_WIDTH_PX = 980
MIN_TEXT_PX = 10.0
#: Graphviz sizes SVGs in points; browsers draw 1 pt as 4/3 px.
PX_PER_PT = 4 / 3

needs_dot = pytest.mark.skipif(not diagram.dot_available(), reason="Graphviz `dot` is not installed")


def measure(svg: str) -> tuple[float, float, list[float]]:
    """Natural width and height (px) and every font size (px) of a Graphviz SVG."""
    size = re.search(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"\s+viewBox="[\d.]+ [\d.]+ ([\d.]+) ([\d.]+)"', svg)
    assert size, "not a Graphviz SVG with a size in points"
    width_pt, height_pt, view_width, _ = map(float, size.groups())
    # Font sizes are in viewBox units: convert through the viewBox-to-points ratio.
    units_to_px = width_pt / view_width * PX_PER_PT
    fonts = [float(f) * units_to_px for f in re.findall(r'font-size="([\d.]+)"', svg)]
    assert fonts, "the SVG has no text"
    return width_pt * PX_PER_PT, height_pt * PX_PER_PT, fonts


def smallest_text_px(svg: str, shown_width_px: float | None) -> float:
    """The smallest text, in px, with the picture shown at most ``shown_width_px`` wide (None: natural size)."""
    width, _, fonts = measure(svg)
    scale = 1.0 if shown_width_px is None else min(1.0, shown_width_px / width)
    return min(fonts) * scale


def test_the_request_path_has_at_most_15_boxes_and_the_path_in_order(body: dict[str, Any]) -> None:
    overview = diagram.request_path(body["Resources"])
    assert len(overview.boxes) <= diagram.MAX_BOXES
    path = [box.key for box in overview.boxes if box.on_path]
    assert path == ["sender", "stage", "method", "function", "table"]
    edges = {(e.source, e.target) for e in overview.edges}
    assert {("sender", "stage"), ("stage", "method"), ("method", "function"), ("function", "table")} <= edges
    beside = {box.key for box in overview.boxes if not box.on_path}
    assert {"key", "secret", "function_logs", "access_logs", "alarms"} <= beside
    # Every resource of those roles is named by its box: the picture hides none of them.
    named = {member for box in overview.boxes for member in box.members}
    for logical_id in ("ApiStage", "WebhookPostMethod", "TransactionModel", "WebhookFunction", "TransactionsTable",
                       "EncryptionKey", "SigningSecret", "FunctionLogGroup", "ApiAccessLogGroup"):
        assert logical_id in named


def test_an_arrow_needs_a_relation_in_the_template(body: dict[str, Any]) -> None:
    resources = {key: value for key, value in body["Resources"].items() if key != "SigningSecret"}
    overview = diagram.request_path(resources)
    assert "secret" not in {box.key for box in overview.boxes}
    assert all("secret" not in (e.source, e.target) for e in overview.edges)


@needs_dot
def test_the_request_path_is_readable_at_page_width(files: dict[str, RenderedFile]) -> None:
    svg = files[PATH_SVG_NAME].content
    width, height, _ = measure(svg)
    smallest = smallest_text_px(svg, PAGE_WIDTH_PX)
    print(f"{PATH_SVG_NAME}: {width:.0f} x {height:.0f} px; smallest text {smallest:.1f} px at {PAGE_WIDTH_PX} px")
    assert smallest >= MIN_TEXT_PX
    assert height * min(1.0, PAGE_WIDTH_PX / width) <= 1000  # fits a screen without scrolling
    assert f"![The request path]({PATH_SVG_NAME})" in files["HANDOFF.md"].content


@needs_dot
def test_the_full_graph_is_readable_at_full_size_and_linked_not_inlined(files: dict[str, RenderedFile]) -> None:
    svg = files[SVG_NAME].content
    width, height, _ = measure(svg)
    smallest = smallest_text_px(svg, None)
    print(f"{SVG_NAME}: {width:.0f} x {height:.0f} px; smallest text {smallest:.1f} px at full size, "
          f"{smallest_text_px(svg, PAGE_WIDTH_PX):.1f} px at {PAGE_WIDTH_PX} px")
    assert smallest >= MIN_TEXT_PX
    handoff = files["HANDOFF.md"].content
    assert f"[{SVG_NAME}]({SVG_NAME})" in handoff
    assert f"![Architecture]({SVG_NAME})" not in handoff  # inline it would be scaled below readable
    # The request path comes first.
    assert handoff.index("### The request path") < handoff.index("### Every resource")


needs_chromium = pytest.mark.skipif(
    mermaid_browser.chromium() is None,
    reason="no Chromium on PATH (.ci/run installs Debian's chromium): Mermaid not rendered")


def rendered_without_errors(results: list[mermaid_browser.Rendered]) -> list[mermaid_browser.Rendered]:
    """``results``, after failing on the first block Mermaid rejected, naming it, with Mermaid's message."""
    for index, result in enumerate(results):
        assert result.error is None, f"Mermaid block {index + 1} does not render: {result.error}\n{result.source}"
        assert result.svg.startswith("<svg") and result.text_sizes_px, f"Mermaid block {index + 1} drew no text"
    return results


@pytest.mark.slow  # a browser process
@needs_chromium
def test_every_mermaid_block_renders_in_a_browser_and_the_request_path_is_readable(
        handoff: str, body: dict[str, Any], tmp_path: Path) -> None:
    sources = mermaid_browser.blocks(handoff)
    assert len(sources) == 2  # the request path, then every resource
    path, graph = rendered_without_errors(mermaid_browser.render(sources, tmp_path))
    # Mermaid drew the boxes' text, not an empty frame.
    assert "Lambda function" in path.svg and "DynamoDB table" in path.svg
    assert all(logical_id in graph.svg for logical_id in body["Resources"])
    view = re.search(r'viewBox="[-\d.]+ [-\d.]+ ([\d.]+) [\d.]+"', path.svg)
    assert view
    width = float(view.group(1))
    smallest = min(path.text_sizes_px) * min(1.0, PAGE_WIDTH_PX / width)
    print(f"Mermaid request path: {width:.0f} px wide; smallest text {smallest:.1f} px at {PAGE_WIDTH_PX} px")
    assert smallest >= MIN_TEXT_PX


@pytest.mark.slow  # a browser process
@needs_chromium
def test_a_mermaid_syntax_error_fails_the_render(handoff: str, tmp_path: Path) -> None:
    path_block = mermaid_browser.blocks(handoff)[0]
    broken = path_block.replace('"]', '"', 1)  # the first box's label left unclosed
    results = mermaid_browser.render([path_block, broken], tmp_path)
    assert results[0].error is None
    with pytest.raises(AssertionError, match="Mermaid block 2 does not render: Parse error"):
        rendered_without_errors(results)
