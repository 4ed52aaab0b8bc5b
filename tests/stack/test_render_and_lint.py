"""Rendering (deterministic, ordered, under the size limit) and the static checks (clean)."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cfn_flip
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from troposphere import Template

from support.environments import SHIPPED as ENVIRONMENTS
from support.once import once_per_run
from support.tools import required_tool
from webhook_templates.handoff import lint
from webhook_templates.handoff.bundle import build_files
from webhook_templates.handoff.render import (
    _YamlDumper,
    json_to_yaml,
    template_dict,
    to_json,
    to_yaml,
)
from webhook_templates.stack import skips
from webhook_templates.stack.handler_artifact import HandlerArtifact
from webhook_templates.stack.limits import TEMPLATE_BODY_LIMIT
from webhook_templates.stack.naming import ACCOUNT_SETUP_TEMPLATE
from webhook_templates.stack.parameters import SPECS
from webhook_templates.stack.template import build_template

ROOT = Path(__file__).resolve().parents[2]
LEGACY = ROOT / "tests" / "fixtures" / "legacy_stack.yaml"


def _render_in_subprocess(out: Path, hash_seed: str) -> dict[str, bytes]:
    subprocess.run(
        [sys.executable, "-m", "webhook_templates", "render", "--out", str(out)],
        check=True, capture_output=True, env={**os.environ, "PYTHONHASHSEED": hash_seed},
    )
    return {str(path.relative_to(out)): path.read_bytes() for path in sorted(out.rglob("*")) if path.is_file()}


@pytest.mark.slow
def test_renders_in_different_processes_are_byte_identical(tmp_path: Path) -> None:
    """Separate processes with different hash seeds: set and dict-hash ordering cannot leak in."""
    first = _render_in_subprocess(tmp_path / "a", "1")
    second = _render_in_subprocess(tmp_path / "b", "2")
    assert first == second
    assert {"template.json", "template.yaml", "account-setup.json", "parameters/dev.json", "parameters/staging.json",
            "parameters/prod.json"} <= set(first)


def test_json_fits_in_a_template_body(template: Template) -> None:
    assert len(to_json(template).encode()) < TEMPLATE_BODY_LIMIT


def test_yaml_uses_short_form_intrinsics_and_matches_json(template: Template) -> None:
    text = to_yaml(template)
    assert "!Ref " in text and "!Sub " in text and "Fn::Sub" not in text
    assert json.loads(cfn_flip.to_json(text)) == json.loads(to_json(template))


def test_yaml_is_byte_for_byte_what_cfn_flip_writes(template: Template, handler_artifact: HandlerArtifact) -> None:
    """The faster dumper changes the time, not the file: a variant with awkward strings too (same rules)."""
    tagged = build_template(handler_artifact)
    tagged.set_description("payments: core #1")
    tagged.set_metadata({**tagged.metadata, "Note": " padded ", "Owner": "payments: core #1"})
    for each in (template, tagged):
        compact = to_json(each)
        assert json_to_yaml(compact) == cfn_flip.to_yaml(compact, clean_up=False, long_form=False)


def _scalars(data: Any) -> Iterator[str]:
    if isinstance(data, dict):
        for key, value in data.items():
            yield key
            yield from _scalars(value)
    elif isinstance(data, list):
        for item in data:
            yield from _scalars(item)
    elif isinstance(data, str):
        yield data


def _analysis(dumper: Any, scalar: str) -> dict[str, Any]:
    return vars(dumper.analyze_scalar(scalar))


def _pyyaml_analysis(dumper: Any, scalar: str) -> dict[str, Any]:
    return vars(yaml.emitter.Emitter.analyze_scalar(dumper, scalar))


#: Strings from the characters PyYAML's scalar analysis tells apart.
_TRICKY_CHARACTERS = " \t\n\r\x00\x85\u2028\u2029\ufeff\ud800\xa0\x7f\x1b-:#?,[]{}&*!|>'\"%@`.aZ0é😀"
_TRICKY = st.text(alphabet=st.sampled_from(list(_TRICKY_CHARACTERS)), min_size=1, max_size=12)


@pytest.mark.parametrize("allow_unicode", [True, False])
@settings(max_examples=400, deadline=None)
@given(scalar=st.one_of(_TRICKY, st.text(min_size=1, max_size=30)))
def test_scalar_analysis_is_pyyamls(allow_unicode: bool, scalar: str) -> None:
    dumper = _YamlDumper(io.StringIO(), allow_unicode=allow_unicode)
    assert _analysis(dumper, scalar) == _pyyaml_analysis(dumper, scalar)


def test_scalar_analysis_is_pyyamls_for_every_string_of_the_template(template: Template) -> None:
    dumper = _YamlDumper(io.StringIO(), allow_unicode=True)
    scalars = set(_scalars(json.loads(to_json(template))))
    assert len(scalars) > 300
    for scalar in scalars:
        if scalar:  # the empty string is cfn-flip's own case
            assert _analysis(dumper, scalar) == _pyyaml_analysis(dumper, scalar), scalar


def test_sections_in_conventional_order(template: Template) -> None:
    assert list(template_dict(template)) == [
        "AWSTemplateFormatVersion", "Description", "Parameters", "Conditions",
        "Resources", "Outputs",
    ]


def _references(node: Any) -> set[str]:
    """Logical names a node refers to through Ref, GetAtt, Sub and DependsOn."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                found.add(value[0])
            elif key == "Fn::Sub":
                text = value if isinstance(value, str) else value[0]
                found |= {part.split("}")[0].split(".")[0] for part in text.split("${")[1:]}
                if not isinstance(value, str):
                    found |= _references(value[1])
            elif key == "DependsOn":
                found |= {value} if isinstance(value, str) else set(value)
            else:
                found |= _references(value)
    elif isinstance(node, list):
        for item in node:
            found |= _references(item)
    return found


def test_resources_appear_after_everything_they_depend_on(template: Template) -> None:
    resources = template_dict(template)["Resources"]
    order = list(resources)
    for position, (logical_id, resource) in enumerate(resources.items()):
        for target in _references(resource) & set(resources):
            assert order.index(target) < position, f"{logical_id} refers to {target}, which comes later"


def _as_written(value: object) -> str:
    """A setting as a parameter file writes it: true/false, 10 for 10.0."""
    if isinstance(value, bool):
        return str(value).lower()
    return f"{value:g}" if isinstance(value, float) else str(value)


def test_parameter_files_cover_every_parameter(template: Template) -> None:
    parameters = template_dict(template)["Parameters"]
    # Omitted at its default (CloudFormation then uses the default): the files stayed as they were.
    optional = {spec.key for spec in SPECS if spec.omitted_at_default}
    assert optional == {"Production", "DeliveryRetentionDays", "TransactionStream", "RefusalAlarmThreshold",
                        "Edge4xxAlarmPercent", "Edge4xxAlarmMinRequests", "DeployRole", "PermissionsBoundary"}
    assert all("Default" in parameters[key] for key in optional)
    for name, config in ENVIRONMENTS.items():
        content = next(f.content for f in build_files(ENVIRONMENTS) if f.path == f"parameters/{name}.json")
        values = {p["ParameterKey"]: p["ParameterValue"] for p in json.loads(content)}
        changed = {spec.key for spec in SPECS if spec.omitted_at_default
                   and _as_written(getattr(config, spec.setting)) != parameters[spec.key]["Default"]}
        assert set(values) == set(parameters) - optional | changed
        assert values["Environment"] == name
        assert all(isinstance(v, str) for v in values.values())


@pytest.mark.slow
@pytest.mark.parametrize("name", lint.LINTED)
def test_cfn_lint_finds_nothing_including_informational(build_dir: Path, name: str) -> None:
    findings = lint.cfn_lint((build_dir / name).read_text(), name)
    assert findings == []


#: Templates checkov cannot read: a rendering cut short, and JSON that ends before its resources.
BROKEN = {"truncated": lambda rendered: rendered[:3000], "no resources": lambda rendered: '{"Resources": '}


@pytest.fixture(scope="module")
def checkov_run(build_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One checkov process for every file the checkov tests ask about (its start-up is most of
    its cost), once per run (support.once): the three renderings, the retired stack, and each
    BROKEN template, each named template.json in a folder of its own. ``findings`` by path, and
    the paths by role."""
    required_tool("CHECKOV")
    rendered_names = ("template.json", "template.yaml", ACCOUNT_SETUP_TEMPLATE)

    def run(folder: Path) -> None:
        (folder / "rendered").mkdir()
        rendered = [Path(shutil.copy(build_dir / name, folder / "rendered" / name)) for name in rendered_names]
        broken = []
        for number, cut in enumerate(BROKEN.values()):
            path = folder / f"broken-{number}" / "template.json"
            path.parent.mkdir()
            path.write_text(cut((build_dir / "template.json").read_text()))
            broken.append(path)
        findings = lint.checkov(*rendered, LEGACY, *broken)
        (folder / "findings.json").write_text(json.dumps(
            {str(path): [dataclasses.astuple(f) for f in found] for path, found in findings.items()}))

    folder = once_per_run(tmp_path_factory, "checkov", run)
    saved = json.loads((folder / "findings.json").read_text())
    return {"findings": {Path(path): [lint.Finding(*f) for f in found] for path, found in saved.items()},
            "rendered": {name: folder / "rendered" / name for name in rendered_names},
            "broken": {name: folder / f"broken-{number}" / "template.json" for number, name in enumerate(BROKEN)}}


@pytest.mark.slow
def test_checkov_fails_nothing_on_either_rendering_and_finds_the_legacy_stacks_faults(
        checkov_run: dict[str, Any]) -> None:
    """The retired stack is the negative control: the same call must report its known faults,
    each attributed to it."""
    findings = checkov_run["findings"]
    for path in checkov_run["rendered"].values():
        assert findings[path] == [], path.name
    failed = {f.rule for f in findings[LEGACY]}
    assert {"CKV_AWS_28", "CKV_AWS_119", "CKV_AWS_158", "CKV_AWS_364"} <= failed
    assert len(failed) == 8
    assert all(f.location.startswith(f"{LEGACY.name}:") for f in findings[LEGACY])


@pytest.mark.slow
@pytest.mark.parametrize("broken", sorted(BROKEN))
def test_a_template_checkov_cannot_read_is_a_finding_not_a_clean_result(checkov_run: dict[str, Any],
                                                                        broken: str) -> None:
    """checkov skips an unreadable file silently (no parsing error, no check): a truncated
    rendering must not pass as clean, and the readable files beside it still get their results."""
    findings = checkov_run["findings"]
    assert [(f.rule, f.location) for f in findings[checkov_run["broken"][broken]]] == [("parse", "template.json")]
    assert findings[checkov_run["rendered"]["template.yaml"]] == []
    assert {f.rule for f in findings[LEGACY]} >= {"CKV_AWS_28", "CKV_AWS_119"}


@pytest.mark.slow
def test_cfn_lint_does_find_the_legacy_stacks_faults() -> None:
    """Negative control: cfn-lint reports the retired stack's known faults."""
    cfn = lint.cfn_lint(LEGACY.read_text(), LEGACY.name)
    rules = {f.rule for f in cfn}
    assert "W2531" in rules  # nodejs18.x is deprecated
    assert "I3011" in rules  # no retention policy on the table


def _skipped_checks(template: Template) -> dict[str, set[str]]:
    skipped: dict[str, set[str]] = {}
    for logical_id, resource in template_dict(template)["Resources"].items():
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            assert skip["comment"].strip(), f"{skip['id']} on {logical_id} has no reason"
            skipped.setdefault(skip["id"], set()).add(logical_id)
    return skipped


def test_every_checkov_skip_has_a_reason_and_is_listed_in_the_readme(template: Template) -> None:
    skipped = _skipped_checks(template)
    known = {check for check, _ in skips.ALL}
    assert set(skipped) == known
    readme = (ROOT / "README.md").read_text()
    for check in skipped:
        assert check in readme, f"README does not explain the {check} skip"
