"""Test-only helpers shared by several test folders."""
