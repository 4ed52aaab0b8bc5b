"""The bundle's CDK ``CfnInclude`` apps, synthesised by aws-cdk-lib, keep the template as it is.

Each ``pipelines/<env>/cdk_app.py`` runs as ``cdk synth`` runs it (``python cdk_app.py``,
which calls ``app.synth()``, with ``CDK_OUTDIR`` set) in ``.venv-cdk``, which ``make test``
installs from PyPI (aws-cdk-lib's jsii runs on the machine's Node.js; no CDK CLI).  Offline:
synth reads the bundle and writes the cloud assembly, and reaches no account.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from support.environments import REPO_ROOT, WITH_TAGS
from support.once import once_per_run
from webhook_templates.handoff.bundle import build_files, write_bundle
from webhook_templates.handoff.diagram import references
from webhook_templates.stack.parameters import parameter_file
from webhook_templates.stack.tags import stack_tags

CDK_PYTHON = REPO_ROOT / ".venv-cdk" / "bin" / "python"
SYNTH = REPO_ROOT / "tests" / "support" / "cdk_synth.py"
#: What CfnInclude keeps of each resource besides its logical ID (Properties get the parameter values).
RESOURCE_ATTRIBUTES = ("Type", "Condition", "DeletionPolicy", "UpdateReplacePolicy", "Metadata")
#: The parameter every CDK v2 stack adds, to check the bootstrap stack's version at deploy time.
CDK_BOOTSTRAP_PARAMETER = "BootstrapVersion"

pytestmark = [
    pytest.mark.slow,  # jsii's Node.js runtime and a synth: seconds
    pytest.mark.skipif(not CDK_PYTHON.is_file(),
                       reason=".venv-cdk is absent (make test installs aws-cdk-lib there): CfnInclude not synthesised"),
]


@pytest.fixture(scope="module")
def synthesised(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Path]]:
    """The bundle (with a tagged environment) and, by environment, the cloud assembly its cdk_app.py
    made: synthesised once per run (support.once), jsii's start-up being most of it."""

    def synthesise(folder: Path) -> None:
        bundle, assemblies = folder / "bundle", folder / "cdk"
        assemblies.mkdir()
        write_bundle(build_files(WITH_TAGS), bundle)
        pairs = [str(arg) for name in sorted(WITH_TAGS)
                 for arg in (bundle / "pipelines" / name / "cdk_app.py", assemblies / name)]
        env = {**os.environ, "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1"}
        done = subprocess.run([str(CDK_PYTHON), str(SYNTH), *pairs], cwd=bundle, env=env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"cdk_app.py did not synthesise:\n{done.stderr[-4000:]}"

    folder = once_per_run(tmp_path_factory, "cdk-synth", synthesise)
    return folder / "bundle", {name: folder / "cdk" / name for name in sorted(WITH_TAGS)}


def _depends_on(resource: dict[str, Any]) -> set[str]:
    """A resource's DependsOn as a set: CloudFormation reads it unordered, and CfnInclude sorts it."""
    depends = resource.get("DependsOn", [])
    return {depends} if isinstance(depends, str) else set(depends)


def _stack(assembly: Path) -> tuple[str, dict[str, Any]]:
    """The name and properties of the assembly's one stack (CDK lists stackName only where it is not the ID)."""
    manifest = json.loads((assembly / "manifest.json").read_text(encoding="utf-8"))
    ((artifact_id, artifact),) = [(key, value) for key, value in manifest["artifacts"].items()
                                  if value["type"] == "aws:cloudformation:stack"]
    properties: dict[str, Any] = artifact["properties"]
    return properties.get("stackName", artifact_id), properties


@pytest.mark.parametrize("environment", sorted(WITH_TAGS))
def test_cfn_include_keeps_every_logical_id_and_applies_the_parameter_file(
        synthesised: tuple[Path, dict[str, Path]], environment: str) -> None:
    bundle, outs = synthesised
    config = WITH_TAGS[environment]
    original = json.loads((bundle / "template.json").read_text(encoding="utf-8"))
    stack, properties = _stack(outs[environment])
    included = json.loads((outs[environment] / properties["templateFile"]).read_text(encoding="utf-8"))

    for section, entries in original.items():
        if isinstance(entries, dict) and section != "Parameters":
            assert set(included[section]) == set(entries), f"{section}: logical IDs changed"
    for logical_id, resource in original["Resources"].items():
        for attribute in RESOURCE_ATTRIBUTES:
            assert included["Resources"][logical_id].get(attribute) == resource.get(attribute), (logical_id, attribute)
        assert _depends_on(included["Resources"][logical_id]) == _depends_on(resource), logical_id

    # The parameter file's values are in the template; the parameters it leaves out stay parameters.
    given = {entry["ParameterKey"]: entry["ParameterValue"] for entry in parameter_file(config)}
    assert set(included["Parameters"]) == set(original["Parameters"]) - set(given) | {CDK_BOOTSTRAP_PARAMETER}
    assert not {name for name, _ in references(included["Resources"])} & set(given)
    assert included["Resources"]["ApiStage"]["Properties"]["StageName"] == environment

    # The stack CloudFormation would be given: its name, tags and termination protection.
    assert stack == config.stack_name
    assert properties.get("tags", {}) == stack_tags(config)
    assert properties["terminationProtection"] is config.is_production
