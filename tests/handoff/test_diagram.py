"""The architecture graph is read from the template's references."""

from __future__ import annotations

from typing import Any

import pytest

from support.environments import SHIPPED
from webhook_templates.handoff import diagram
from webhook_templates.handoff.bundle import build_files
from webhook_templates.handoff.render import RenderedFile


def test_references_cover_ref_getatt_and_sub() -> None:
    value = {
        "A": {"Ref": "Table"},
        "B": {"Fn::GetAtt": ["Key", "Arn"]},
        "C": {"Fn::GetAtt": "Role.Arn"},
        "D": {"Fn::Sub": "${Api}.execute-api.${AWS::Region}/${Stage.Name}/${!Literal}"},
        "E": {"Fn::Sub": ["${Local}-${Env}", {"Local": {"Ref": "Bucket"}}]},
        "F": [{"Fn::If": ["Cond", {"Ref": "Secret"}, "x"]}],
    }
    assert sorted(diagram.references(value)) == sorted([
        ("Table", "Ref"), ("Key", "GetAtt Arn"), ("Role", "GetAtt Arn"), ("Api", "Ref"),
        ("AWS::Region", "Ref"), ("Stage", "GetAtt Name"), ("Env", "Ref"), ("Bucket", "Ref"),
        ("Secret", "Ref"),
    ])


def test_graph_keeps_only_resource_edges_and_merges_labels() -> None:
    resources: dict[str, Any] = {
        "Api": {"Type": "AWS::ApiGateway::RestApi"},
        "Res": {"Type": "AWS::ApiGateway::Resource", "Properties": {
            "RestApiId": {"Ref": "Api"}, "ParentId": {"Fn::GetAtt": ["Api", "RootResourceId"]},
            "Name": {"Ref": "Environment"}}},
        "Secret": {"Type": "AWS::SecretsManager::Secret", "Condition": "C", "DeletionPolicy": "Retain"},
    }
    graph = diagram.resource_graph(resources)
    assert graph.edges == (diagram.Edge("Res", "Api", "GetAtt RootResourceId, Ref"),)
    assert graph.nodes[2] == diagram.Node("Secret", "AWS::SecretsManager::Secret", "C", True)
    mermaid = diagram.to_mermaid(graph)
    assert '  subgraph svc_ApiGateway["ApiGateway"]' in mermaid
    assert "  Res -->|GetAtt RootResourceId, Ref| Api" in mermaid
    assert "  class Secret conditional" in mermaid and "  class Secret retained" in mermaid
    dot = diagram.to_dot(graph)
    assert '"Res" -> "Api" [label="GetAtt RootResourceId, Ref"];' in dot
    assert 'label="Secret\\nAWS::SecretsManager::Secret\\nonly if C"' in dot


def test_without_dot_there_is_no_svg_and_handoff_draws_the_request_path_in_mermaid(
        monkeypatch: pytest.MonkeyPatch, body: dict[str, Any]) -> None:
    monkeypatch.setattr(diagram, "dot_available", lambda: False)
    files = {f.path: f for f in build_files(SHIPPED)}
    for svg in ("template.svg", "request-path.svg"):
        assert svg not in files
        assert svg not in files["HANDOFF.md"].content
        assert svg not in files["manifest.json"].content
    # The request-path picture is still in the bundle: inline, as Mermaid (test_pictures renders it).
    picture = diagram.overview_to_mermaid(diagram.request_path(body["Resources"]))
    section = files["HANDOFF.md"].content.split("### The request path\n", 1)[1].split("\n### ", 1)[0]
    assert f"```mermaid\n{picture}```" in section


@pytest.mark.skipif(not diagram.dot_available(), reason="Graphviz's dot is not installed (.ci/run installs it)")
def test_with_dot_the_svg_draws_every_resource(files: dict[str, RenderedFile], body: dict[str, Any]) -> None:
    svg = files["template.svg"].content
    assert "<svg" in svg
    for logical_id in body["Resources"]:
        assert f"<title>{logical_id}</title>" in svg
    assert "[template.svg](template.svg)" in files["HANDOFF.md"].content
