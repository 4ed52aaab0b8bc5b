"""Static checks on rendered templates: cfn-lint (through its API) and checkov.

Both must report nothing at all, informational findings included; a check that
does not fit the design is skipped on its resource with a reason (``skips``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cfnlint.api import lint
from cfnlint.config import ManualArgs
from cfnlint.decode import decode

from ..stack.naming import ACCOUNT_SETUP_TEMPLATE

#: Regions whose resource specs the template is checked against.
LINT_REGIONS = ("us-east-1", "eu-west-1")


@dataclass(frozen=True)
class Finding:
    """One problem a checker reported."""

    tool: str
    rule: str
    message: str
    location: str

    def __str__(self) -> str:
        return f"{self.tool} {self.rule} {self.location}: {self.message}"


def cfn_lint(text: str, source: str = "<template>") -> list[Finding]:
    """cfn-lint findings for a template's text: errors, warnings and informational."""
    matches = lint(text, config=ManualArgs(include_checks=["I"], regions=list(LINT_REGIONS)))
    return [
        Finding("cfn-lint", match.rule.id, match.message, f"{source}:{match.linenumber}")
        for match in matches
    ]


def checkov_command() -> list[str]:
    """How to run checkov: ``CHECKOV`` or the project's ``.venv-checkov``, else ``PATH``.

    checkov lives in its own virtualenv because it pins library versions
    (boto3 among them) that would fight the package's own.
    """
    configured = os.environ.get("CHECKOV")
    if configured:
        return [configured]
    local = Path(__file__).resolve().parents[3] / ".venv-checkov" / "bin" / "checkov"
    if local.exists():
        return [str(local)]
    found = shutil.which("checkov")
    if found:
        return [found]
    raise FileNotFoundError("checkov not found: run `make lint` (it installs .venv-checkov) or set CHECKOV")


def checkov(*paths: Path) -> dict[Path, list[Finding]]:
    """checkov's failed checks for each rendered template file of ``paths`` (offline: no policy download).

    One checkov process for all of them: its start-up (about 5 s) is most of
    the cost of checking a template.
    """
    reports = _checkov_reports(paths)
    findings: dict[Path, list[Finding]] = {path: [] for path in paths}
    for path, finding in [*_coverage_findings(paths, reports), *_failed_checks(paths, reports)]:
        findings[path].append(finding)
    return findings


def _checkov_reports(paths: tuple[Path, ...]) -> list[dict[str, Any]]:
    """checkov's JSON reports for ``paths`` (one per framework run); an error if checkov did not run."""
    result = subprocess.run(
        [*checkov_command(), "--framework", "cloudformation",
         *(arg for path in paths for arg in ("--file", str(path))),
         "--output", "json", "--quiet", "--skip-download", "--compact"],
        capture_output=True, text=True, check=False,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"},
    )
    if result.returncode not in (0, 1) or not result.stdout.strip():
        raise RuntimeError(f"checkov did not run (exit {result.returncode}): {result.stderr.strip()[-500:]}")
    reports = json.loads(result.stdout)
    return reports if isinstance(reports, list) else [reports]


def _coverage_findings(paths: tuple[Path, ...], reports: list[dict[str, Any]]) -> list[tuple[Path, Finding]]:
    """Files checkov did not (fully) check.

    checkov skips a file it cannot read as a template without a word (``parsing_errors`` stays 0):
    such a file is a finding, and the resources checkov checked must be all the readable files have.
    """
    expected = {path: _resource_count(path) for path in paths}
    found = [(path, Finding("checkov", "parse", "not a readable template: checkov checked nothing", path.name))
             for path, count in expected.items() if count is None]
    readable = {path: count for path, count in expected.items() if count is not None}
    wanted = sum(readable.values())
    summaries = [report.get("summary", {}) for report in reports]
    checked = sum(summary.get("resource_count", 0) for summary in summaries)
    errors = sum(summary.get("parsing_errors", 0) for summary in summaries)
    # checkov counts what it missed without naming the file: unless the unreadable files
    # account for it, every readable file is suspect.
    if checked != wanted or errors > len(paths) - len(readable):
        found += [(path, Finding("checkov", "parse", f"checkov checked {checked} of the {wanted} resources and "
                                 f"reported {errors} parsing error(s)", path.name))
                  for path in readable]
    return found


def _failed_checks(paths: tuple[Path, ...], reports: list[dict[str, Any]]) -> list[tuple[Path, Finding]]:
    """Every failed check in ``reports``, with the file of ``paths`` it was found in."""
    by_file = {path.resolve(): path for path in paths}
    found = []
    for failed in (check for report in reports for check in report.get("results", {}).get("failed_checks", [])):
        path = by_file[Path(failed["file_abs_path"]).resolve()]
        found.append((path, Finding("checkov", failed["check_id"], failed.get("check_name", ""),
                                    f"{path.name}:{failed.get('resource', '?')}")))
    return found


def _resource_count(path: Path) -> int | None:
    """How many resources the template at ``path`` declares (cfn-lint's decoder: JSON or YAML), or None."""
    template, _ = decode(str(path))
    resources = template.get("Resources") if isinstance(template, dict) else None
    return len(resources) if isinstance(resources, dict) else None


#: The rendered templates of a build: the webhook template in both forms, and the account setup.
LINTED = ("template.json", "template.yaml", ACCOUNT_SETUP_TEMPLATE)


def lint_build(build_dir: Path) -> list[Finding]:
    """Every finding on the rendered templates (``LINTED``)."""
    paths = [build_dir / name for name in LINTED]
    findings = [finding for path in paths for finding in cfn_lint(path.read_text(encoding="utf-8"), str(path))]
    for path_findings in checkov(*paths).values():
        findings += path_findings
    return findings


def main(build_dir: Path) -> int:
    """Print findings; 0 when clean, 1 otherwise."""
    findings = lint_build(build_dir)
    for finding in findings:
        print(finding, file=sys.stderr)
    print(f"lint: {len(findings)} finding(s) in {', '.join(f'{build_dir}/{name}' for name in LINTED)}")
    return 1 if findings else 0
