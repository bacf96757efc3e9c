"""`lotse rules check|explain`: validate rule catalogs and dry-run routing without a case."""

import typer

app = typer.Typer(no_args_is_help=True, help="Regelkataloge prüfen und Routing erklären.")
