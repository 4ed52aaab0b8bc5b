"""The build folder ``make template`` writes: what a platform team is handed.

``build_files`` is the single list of everything in it, so rendering, the
drift check and the tests agree on what the bundle is.
"""

from __future__ import annotations

from pathlib import Path

from .config import TemplateConfig
from .render import RenderedFile, render_files, write_files
from .template import build_template


def build_files(config: TemplateConfig | None = None) -> list[RenderedFile]:
    """Every file of the bundle, rendered in memory."""
    return render_files(build_template(config))


def write_bundle(files: list[RenderedFile], out_dir: Path) -> list[Path]:
    """Write the bundle into ``out_dir``."""
    return write_files(files, out_dir)


def check_drift(files: list[RenderedFile], out_dir: Path) -> list[str]:
    """Paths (relative to ``out_dir``) whose content differs from ``files``."""
    drifted = []
    for file in files:
        path = out_dir / file.path
        if not path.exists() or path.read_text(encoding="utf-8") != file.content:
            drifted.append(file.path)
    return drifted
