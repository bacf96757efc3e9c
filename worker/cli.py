"""The `lotse` command line: one typer app, one sub-app per area. Commands are thin: they
parse arguments and call one function of the package that owns the work."""

import typer

from worker import rules_cli

app = typer.Typer(no_args_is_help=True, help="Lotse: Integrationsvereinbarungen als Prozesse.")
app.add_typer(rules_cli.app, name="rules")

if __name__ == "__main__":
    app()
