"""The architecture diagram: the template's resources and the Ref/GetAtt links between them.

The graph is read from the rendered template (never drawn by hand), so it
cannot fall behind the resources.  It is written as a Mermaid flowchart,
which GitHub and GitLab render inside Markdown, and as Graphviz DOT, which
``dot`` turns into an SVG when it is installed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

#: ``${Name}`` or ``${Name.Attribute}`` inside ``Fn::Sub``; ``${!Literal}`` is an escape.
_SUB_VARIABLE = re.compile(r"\$\{([^!}][^}]*)\}")


@dataclass(frozen=True)
class Node:
    """One resource of the template."""

    logical_id: str
    type: str
    condition: str | None = None
    retained: bool = False

    @property
    def service(self) -> str:
        """The AWS service part of the type (``AWS::Lambda::Function`` -> ``Lambda``)."""
        return self.type.split("::")[1]


@dataclass(frozen=True)
class Edge:
    """``source`` refers to ``target``; ``label`` says how (``Ref``, ``GetAtt Arn``)."""

    source: str
    target: str
    label: str


@dataclass(frozen=True)
class Graph:
    """Resources (template order) and their references (sorted)."""

    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]


def references(value: Any) -> Iterator[tuple[str, str]]:
    """``(name, how)`` for every ``Ref``, ``Fn::GetAtt`` and ``Fn::Sub`` variable in ``value``.

    Names include parameters and pseudo parameters; the caller keeps the ones
    that are resources.
    """
    if isinstance(value, list):
        for item in value:
            yield from references(item)
        return
    if not isinstance(value, dict):
        return
    if len(value) == 1:
        ((key, argument),) = value.items()
        if key == "Ref" and isinstance(argument, str):
            yield argument, "Ref"
            return
        if key == "Fn::GetAtt":
            name, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
            yield name, f"GetAtt {attribute}"
            return
        if key == "Fn::Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else argument
            for match in _SUB_VARIABLE.finditer(text):
                name, _, attribute = match.group(1).partition(".")
                if name not in variables:  # local Sub variables are not references
                    yield name, f"GetAtt {attribute}" if attribute else "Ref"
            yield from references(variables)
            return
    for item in value.values():
        yield from references(item)


def resource_graph(resources: Mapping[str, Mapping[str, Any]]) -> Graph:
    """The graph of a template's ``Resources`` section (plain data, as rendered).

    ``DependsOn`` is left out: it orders creation but is not a relation a
    reader needs, and the API deployment's would hide the rest.
    """
    nodes = tuple(
        Node(logical_id, body["Type"], body.get("Condition"), body.get("DeletionPolicy") == "Retain")
        for logical_id, body in resources.items()
    )
    labels: dict[tuple[str, str], set[str]] = {}
    for logical_id, body in resources.items():
        for part in ("Properties", "Metadata"):
            for target, how in references(body.get(part)):
                if target in resources and target != logical_id:
                    labels.setdefault((logical_id, target), set()).add(how)
    edges = tuple(
        Edge(source, target, ", ".join(sorted(how)))
        for (source, target), how in sorted(labels.items())
    )
    return Graph(nodes, edges)


def _services(graph: Graph) -> dict[str, list[Node]]:
    """Nodes grouped by AWS service, services in order of first appearance."""
    groups: dict[str, list[Node]] = {}
    for node in graph.nodes:
        groups.setdefault(node.service, []).append(node)
    return groups


def _caption(node: Node, line_break: str) -> str:
    parts = [node.logical_id, node.type]
    if node.condition:
        parts.append(f"only if {node.condition}")
    return line_break.join(parts)


def to_mermaid(graph: Graph) -> str:
    """A Mermaid ``flowchart``: one box per resource, grouped by service, arrows to what it uses.

    Conditional resources are dashed and retained ones drawn thick, as the
    legend under the diagram says.
    """
    lines = ["flowchart LR"]
    for service, nodes in _services(graph).items():
        lines.append(f'  subgraph svc_{service}["{service}"]')
        lines += [f'    {node.logical_id}["{_caption(node, "<br/>")}"]' for node in nodes]
        lines.append("  end")
    lines += [f"  {edge.source} -->|{edge.label}| {edge.target}" for edge in graph.edges]
    lines.append("  classDef conditional stroke-dasharray: 5 5")
    lines.append("  classDef retained stroke-width:3px")
    for style, members in (
        ("conditional", [n.logical_id for n in graph.nodes if n.condition]),
        ("retained", [n.logical_id for n in graph.nodes if n.retained]),
    ):
        if members:
            lines.append(f"  class {','.join(members)} {style}")
    return "\n".join(lines) + "\n"


def _dot_quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def to_dot(graph: Graph) -> str:
    """The same graph as Graphviz DOT, with the same grouping and styles."""
    lines = [
        "digraph stack {",
        # newrank: the classic ranker fails ("trouble in init_rank") when edges run both ways
        # between two clusters, as between IAM and Secrets Manager (role -> secret -> role).
        "  newrank=true;",
        "  rankdir=LR;",
        '  node [shape=box, style="rounded", fontname="Helvetica", fontsize=10];',
        '  edge [fontname="Helvetica", fontsize=8];',
    ]
    for service, nodes in _services(graph).items():
        lines.append(f"  subgraph cluster_{service} {{")
        lines.append(f"    label={_dot_quote(service)};")
        for node in nodes:
            style = '"rounded,dashed"' if node.condition else '"rounded"'
            width = 3 if node.retained else 1
            label = _dot_quote(_caption(node, "\n"))
            lines.append(
                f"    {_dot_quote(node.logical_id)} [label={label}, style={style}, penwidth={width}];"
            )
        lines.append("  }")
    lines += [
        f"  {_dot_quote(e.source)} -> {_dot_quote(e.target)} [label={_dot_quote(e.label)}];"
        for e in graph.edges
    ]
    lines.append("}")
    return "\n".join(lines) + "\n"


def dot_available() -> bool:
    """Whether Graphviz's ``dot`` is on ``PATH`` (the SVG is optional)."""
    return shutil.which("dot") is not None


def to_svg(dot_source: str) -> str:
    """Render DOT to SVG with Graphviz's ``dot`` (raises if it is missing or fails)."""
    result = subprocess.run(
        ["dot", "-Tsvg"], input=dot_source, capture_output=True, text=True, check=True, timeout=60
    )
    return result.stdout
