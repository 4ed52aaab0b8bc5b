"""``python -m webhook_templates`` runs the CLI."""

from .cli import main

raise SystemExit(main())
