"""Names the deploy tests share (a module of its own: ``from conftest import`` is ambiguous
when several test folders each have a conftest)."""

from __future__ import annotations

from dataclasses import dataclass

#: moto warns once per resource type it skips; moto_patches documents each gap.
MOTO_SKIPS_TYPES = "ignore:Tried to parse .* not supported by moto:UserWarning"


@dataclass
class Result:
    """What one CLI run produced."""

    code: int
    out: str
    err: str
