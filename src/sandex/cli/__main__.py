"""`python -m sandex.cli` is the `sandex` command."""

from . import main

main()
