"""Rendering: the template as JSON and YAML, and the per-environment parameter files.

Output is deterministic (same input, same bytes) so the build can be diffed,
hashed and reviewed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import yaml
from cfn_clean import cfn_literal_parser
from cfn_flip.yaml_dumper import CONVERTED_SUFFIXES, FN_PREFIX, TAG_MAP, Dumper, fn_representer
from cfn_tools._config import config as cfn_flip_config
from cfn_tools.literal import LiteralString
from troposphere import Template
from yaml.emitter import ScalarAnalysis

from ..config import EnvironmentConfig
from ..stack.parameters import parameter_file

#: CloudFormation's conventional section order, which troposphere does not keep.
SECTION_ORDER = (
    "AWSTemplateFormatVersion", "Description", "Metadata", "Parameters", "Rules",
    "Mappings", "Conditions", "Transform", "Resources", "Outputs",
)


def template_dict(template: Template) -> dict[str, Any]:
    """The template as plain data, sections in CloudFormation's usual order."""
    raw = template.to_dict()
    return {key: raw[key] for key in SECTION_ORDER if key in raw}


def to_json(template: Template) -> str:
    """Compact JSON, resources in the order they were added (dependency order).

    Compact because CloudFormation accepts at most 51,200 bytes of
    ``TemplateBody`` and the handler's code is inlined; ``template.yaml`` is the
    copy for people to read.
    """
    return json.dumps(template_dict(template), separators=(",", ":"), ensure_ascii=False) + "\n"


#: Characters PyYAML's emitter treats as whitespace and as line breaks.
_WHITESPACE = "\0 \t\r\n\x85\u2028\u2029"
_BREAKS = "\n\x85\u2028\u2029"
_BREAK = re.compile(f"[{_BREAKS}]")
_SPACE_BREAK = re.compile(f" [{_BREAKS}]")
_BREAK_SPACE = re.compile(f"[{_BREAKS}] ")
_INNER_FLOW_INDICATOR = re.compile(r"[,?\[\]{}:]")
#: After the first character: ":" before whitespace or the end, "#" after whitespace.
_INNER_BLOCK_INDICATOR = re.compile(f":(?=[{_WHITESPACE}]|\\Z)|(?<=[{_WHITESPACE}])#")
#: ASCII PyYAML cannot write unescaped (outside ASCII, its own analysis decides: rare here).
_SPECIAL_ASCII = re.compile("[\\x00-\\x09\\x0b-\\x1f\\x7f]")


class _YamlDumper(Dumper):  # type: ignore[misc]  # PyYAML and cfn-flip ship no type hints
    """cfn-flip's dumper, emitting the same bytes in a fraction of the time.

    cfn-flip rebuilds every mapping as an ``ODict`` whose ``items()`` defines a
    class per entry (to defeat sorting), and PyYAML analyses each scalar one
    character at a time: together most of a render, the inlined handler's
    ~17 KB alone about 40 ms.  Here mappings are plain dicts dumped with
    ``sort_keys=False`` and the analysis of ASCII text (all of this template's) is the same rules, per pattern.
    ``tests/stack/test_render_and_lint.py`` checks the output against
    cfn-flip's, and the analysis against PyYAML's.
    """

    def analyze_scalar(self, scalar: str) -> ScalarAnalysis:
        """PyYAML's ``Emitter.analyze_scalar``, the same flags from regular expressions."""
        if not scalar or isinstance(scalar, LiteralString) or not scalar.isascii():
            analysis: ScalarAnalysis = super().analyze_scalar(scalar)
            return analysis  # cfn-flip's own early answer, or PyYAML's unicode rules
        flow_indicators, block_indicators = _indicators(scalar)
        spaces = _spaces(scalar)
        return ScalarAnalysis(
            scalar=scalar, empty=False, multiline=spaces.line_breaks,
            allow_flow_plain=spaces.allow_plain and not flow_indicators,
            allow_block_plain=spaces.allow_plain and not block_indicators,
            allow_single_quoted=spaces.allow_single_quoted,
            allow_double_quoted=True,
            allow_block=spaces.allow_block,
        )


def _indicators(scalar: str) -> tuple[bool, bool]:
    """Whether the ASCII ``scalar`` has indicators that rule out a plain scalar: in flow, in block context."""
    first = scalar[0]
    followed_by_whitespace = len(scalar) == 1 or scalar[1] in _WHITESPACE
    leading = first in "#,[]{}&*!|>'\"%@`" or (first == "-" and followed_by_whitespace)
    # ``pos=1``: the first character has its own rules; a look-behind still sees it.
    anywhere = (scalar.startswith(("---", "...")) or leading
                or _INNER_BLOCK_INDICATOR.search(scalar, 1) is not None)
    flow = anywhere or first in "?:" or _INNER_FLOW_INDICATOR.search(scalar, 1) is not None
    block = anywhere or (first in "?:" and followed_by_whitespace)
    return flow, block


class _Spaces(NamedTuple):
    """Where the ASCII scalar's whitespace and special characters are, as PyYAML's analysis sees them."""

    line_breaks: bool
    special: bool
    trailing_space: bool
    #: A space or line break first, or a line break last (with ``trailing_space``: no plain scalar).
    at_either_end: bool
    break_space: bool
    space_break: bool

    @property
    def allow_single_quoted(self) -> bool:
        """Whether the scalar can be written single-quoted."""
        return not (self.break_space or self.space_break or self.special)

    @property
    def allow_plain(self) -> bool:
        """Whether the scalar's spacing allows it plain (its indicators may still rule it out)."""
        return self.allow_single_quoted and not (self.at_either_end or self.line_breaks)

    @property
    def allow_block(self) -> bool:
        """Whether the scalar can be written as a block scalar."""
        return not (self.trailing_space or self.space_break or self.special)


def _spaces(scalar: str) -> _Spaces:
    first, last = scalar[0], scalar[-1]
    trailing_space = last == " "
    return _Spaces(
        line_breaks=_BREAK.search(scalar) is not None,
        special=_SPECIAL_ASCII.search(scalar) is not None,
        trailing_space=trailing_space,
        at_either_end=first == " " or first in _BREAKS or trailing_space or last in _BREAKS,
        break_space=_BREAK_SPACE.search(scalar) is not None,
        space_break=_SPACE_BREAK.search(scalar) is not None,
    )


def _mapping(dumper: _YamlDumper, value: dict[str, Any]) -> yaml.Node:
    """cfn-flip's ``map_representer`` for plain dicts: a one-key ``Ref``/``Fn::`` mapping is a short-form tag."""
    node: yaml.Node
    key = next(iter(value)) if len(value) == 1 else ""
    if key in CONVERTED_SUFFIXES:
        node = fn_representer(dumper, key, value[key])
    elif key.startswith(FN_PREFIX):
        node = fn_representer(dumper, key[len(FN_PREFIX):], value[key])
    else:
        node = dumper.represent_mapping(TAG_MAP, value, flow_style=False)
    return node


_YamlDumper.add_representer(dict, _mapping)


def json_to_yaml(text: str) -> str:
    """The JSON template ``text`` as YAML, byte for byte what ``cfn_flip.to_yaml(text)`` writes."""
    data = cfn_literal_parser(json.loads(text))
    return str(yaml.dump(data, Dumper=_YamlDumper, default_flow_style=False, allow_unicode=True,
                         width=cfn_flip_config.max_col_width, sort_keys=False))


def to_yaml(template: Template) -> str:
    """YAML with short-form intrinsics (``!Ref``, ``!Sub``), as cfn-flip renders it for troposphere."""
    return json_to_yaml(to_json(template))


def parameters_json(config: EnvironmentConfig) -> str:
    """One environment's parameter file, as ``aws cloudformation`` reads it."""
    return json.dumps(parameter_file(config), indent=2) + "\n"


@dataclass(frozen=True)
class RenderedFile:
    """A file of the build, relative to the build folder."""

    path: str
    content: str


def render_files(
    template: Template, environments: Mapping[str, EnvironmentConfig]
) -> list[RenderedFile]:
    """Every file ``make template`` writes, in a fixed order: the template, then one parameter file
    per environment of ``environments`` (``environments.toml``)."""
    compact = to_json(template)
    files = [
        RenderedFile("template.json", compact),
        RenderedFile("template.yaml", json_to_yaml(compact)),
    ]
    files += [
        RenderedFile(f"parameters/{name}.json", parameters_json(config))
        for name, config in sorted(environments.items())
    ]
    return files


def write_files(files: list[RenderedFile], out_dir: Path) -> list[Path]:
    """Write ``files`` under ``out_dir``, skipping unchanged ones so timestamps mean something."""
    written = []
    for file in files:
        path = out_dir / file.path
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text(encoding="utf-8") != file.content:
            path.write_text(file.content, encoding="utf-8")
        written.append(path)
    return written
