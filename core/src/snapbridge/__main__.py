"""``python -m snapbridge`` runs the CLI."""

from snapbridge.cli import main

main()
