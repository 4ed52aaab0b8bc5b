"""The shipped ``environments.toml``, loaded the way the CLI loads it, for tests that need its values."""

from __future__ import annotations

from pathlib import Path

from webhook_templates.config import load_environments, parse_environments

REPO_ROOT = Path(__file__).resolve().parents[2]
ENVIRONMENTS_FILE = REPO_ROOT / "environments.toml"
#: dev, staging and prod, as the repository ships them.
SHIPPED = load_environments(ENVIRONMENTS_FILE)
#: The shipped environments plus one with stack tags, which no shipped one has.
WITH_TAGS = parse_environments(ENVIRONMENTS_FILE.read_text(encoding="utf-8")
                               + '\n[qa]\ntags = { Owner = "qa team", Ticket = "PAY-123" }\n')
