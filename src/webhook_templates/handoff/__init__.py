"""What ``render`` writes into ``build/``: the JSON/YAML template, parameter files,
HANDOFF.md, the diagram and the manifest, and the linters that check them."""
