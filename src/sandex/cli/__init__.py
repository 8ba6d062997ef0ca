"""The `sandex` command: `serve` (cli/serve.py), `gateway` (cli/gateway.py) and the operator
commands (cli/operator.py)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

import typer

from .common import out
from .gateway import gateway
from .operator import accounts_app, faults_app, keys_app
from .replay import replay_app
from .serve import serve

__all__ = ["app", "main"]

app = typer.Typer(
    add_completion=False,
    help="sandex: a self-hosted crypto trading venue that speaks real exchange protocols.",
)
app.command()(serve)
app.command()(gateway)
app.add_typer(accounts_app, name="accounts")
app.add_typer(keys_app, name="keys")
app.add_typer(faults_app, name="faults")
app.add_typer(replay_app, name="replay")


def sandex_version() -> str:
    try:
        return version("sandex")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown (not installed)"


def _show_version(value: bool) -> None:
    if value:
        out.print(f"sandex {sandex_version()}")
        raise typer.Exit()


@app.callback()
def options(
    show_version: bool = typer.Option(
        False, "--version", callback=_show_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """sandex: a self-hosted crypto trading venue that speaks real exchange protocols."""


def main() -> None:
    app()
