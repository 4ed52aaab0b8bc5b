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


# --- the request path: the picture a person reads first ------------------------------

@dataclass(frozen=True)
class Box:
    """One box of the request-path picture: a role, and the resources that play it."""

    key: str
    lines: tuple[str, ...]
    members: tuple[str, ...]
    #: On the request's way (sender -> stage -> method -> function -> table), or beside it.
    on_path: bool


@dataclass(frozen=True)
class Overview:
    """The request path and what supports it, at most ``MAX_BOXES`` boxes."""

    boxes: tuple[Box, ...]
    edges: tuple[Edge, ...]


#: A picture of more boxes than this is not read at a glance (nor at 980 px).
MAX_BOXES = 15
SENDER = "sender"

#: (box, title, types whose resources it stands for, on the path, what it does).
_ROLES: tuple[tuple[str, str, tuple[str, ...], bool, str], ...] = (
    ("stage", "API Gateway stage", ("AWS::ApiGateway::Stage", "AWS::ApiGateway::RestApi",
                                    "AWS::ApiGateway::Deployment", "AWS::ApiGateway::UsagePlan"), True,
     "throttled per stage (rate, burst)"),
    ("method", "POST /webhook", ("AWS::ApiGateway::Method", "AWS::ApiGateway::Resource", "AWS::ApiGateway::Model",
                                 "AWS::ApiGateway::RequestValidator", "AWS::ApiGateway::GatewayResponse"), True,
     "body validated against the model"),
    # The API calls the `live` alias of a published version: one box with the function.
    ("function", "Lambda function", ("AWS::Lambda::Function", "AWS::Lambda::Permission", "AWS::Lambda::Version",
                                     "AWS::Lambda::Alias"), True,
     "checks signature, stores once"),
    ("table", "DynamoDB table", ("AWS::DynamoDB::Table",), True, "transactions, retained"),
    ("secret", "Signing secret", ("AWS::SecretsManager::Secret",), False, "Secrets Manager"),
    ("key", "KMS key", ("AWS::KMS::Key", "AWS::KMS::Alias"), False, "encrypts data and logs"),
    ("role", "Function role", ("AWS::IAM::Role",), False, "least privilege"),
    ("function_logs", "Function logs", (), False, "CloudWatch Logs"),
    ("access_logs", "Access logs", (), False, "CloudWatch Logs"),
    ("alarms", "alarms", ("AWS::CloudWatch::Alarm",), False, "CloudWatch"),
)
#: (from, to, label): drawn when the template relates the two boxes' resources (either way).
_RELATIONS: tuple[tuple[str, str, str], ...] = (
    ("stage", "method", "serves"),
    ("method", "function", "invokes"),
    ("function", "table", "writes"),
    ("function", "secret", "reads"),
    ("function", "role", "runs as"),
    ("function", "function_logs", "logs to"),
    ("stage", "access_logs", "logs to"),
    ("key", "table", "encrypts"),
    ("key", "secret", "encrypts"),
    ("key", "function_logs", "encrypts"),
    ("key", "access_logs", "encrypts"),
    ("alarms", "function", "watch"),
    ("alarms", "stage", "watch"),
)


def _members(resources: Mapping[str, Mapping[str, Any]], key: str, types: tuple[str, ...]) -> tuple[str, ...]:
    # The two log groups share a type; the function's is the one its role writes to, told apart by
    # logical ID, as the deploy guard knows them.
    from ..stack import naming  # the logical IDs (a lower layer)

    by_id = {"function_logs": naming.FUNCTION_LOG_GROUP_ID, "access_logs": naming.ACCESS_LOG_GROUP_ID}
    if key in by_id:
        return (by_id[key],) if by_id[key] in resources else ()
    # Ordered by role: the type named first (the stage, the method) leads the box.
    found = tuple(name for kind in types for name, body in resources.items() if body["Type"] == kind)
    if key == "role":  # the function's role, not the optional API Gateway logging role
        return tuple(name for name in found if name == naming.ROLE_ID)
    return found


def request_path(resources: Mapping[str, Mapping[str, Any]]) -> Overview:
    """The request path and its supports, from a template's ``Resources`` (plain data).

    Each box stands for the resources of its role (named in it), and an arrow is
    drawn only where the full graph relates them, so the picture cannot show a
    relation the template does not have.
    """
    graph = resource_graph(resources)
    related = {(edge.source, edge.target) for edge in graph.edges}
    boxes = [Box(SENDER, ("Webhook sender", "signed POST (Standard Webhooks)"), (), True)]
    for key, title, types, on_path, does in _ROLES:
        members = _members(resources, key, types)
        if not members:
            continue
        heading = f"{len(members)} {title}" if key == "alarms" else title
        shown = members if len(members) <= 2 else (*members[:1], f"+ {len(members) - 1} more")
        boxes.append(Box(key, (heading, does, ", ".join(shown)), members, on_path))
    if len(boxes) > MAX_BOXES:
        raise ValueError(f"the request-path picture has {len(boxes)} boxes; at most {MAX_BOXES} are readable")
    by_key = {box.key: box for box in boxes}
    edges = [Edge(SENDER, "stage", "HTTPS")] if "stage" in by_key else []
    for source, target, label in _RELATIONS:
        if source in by_key and target in by_key and any(
            (a, b) in related or (b, a) in related for a in by_key[source].members for b in by_key[target].members
        ):
            edges.append(Edge(source, target, label))
    return Overview(tuple(boxes), tuple(edges))


def overview_to_mermaid(overview: Overview) -> str:
    """The request path as a top-down Mermaid flowchart: the path in thick boxes, supports beside it."""
    lines = ["flowchart TB"]
    for box in overview.boxes:
        text = "<br/>".join(box.lines).replace('"', "'")
        lines.append(f'  {box.key}["{text}"]')
    lines += [f"  {edge.source} -->|{edge.label}| {edge.target}" for edge in overview.edges]
    lines.append("  classDef path stroke-width:3px")
    lines.append(f"  class {','.join(box.key for box in overview.boxes if box.on_path)} path")
    return "\n".join(lines) + "\n"


def overview_to_dot(overview: Overview) -> str:
    """The request path as DOT: the path down the middle, large type, supports beside it."""
    lines = [
        "digraph request_path {",
        "  rankdir=TB; nodesep=0.3; ranksep=0.35;",
        '  node [shape=box, style="rounded", fontname="Helvetica", fontsize=14];',
        '  edge [fontname="Helvetica", fontsize=12];',
    ]
    for box in overview.boxes:
        width = 3 if box.on_path else 1
        lines.append(f"  {box.key} [label={_dot_quote(chr(10).join(box.lines))}, penwidth={width}];")
    lines += [f"  {e.source} -> {e.target} [label={_dot_quote(e.label)}];" for e in overview.edges]
    lines.append("}")
    return "\n".join(lines) + "\n"
