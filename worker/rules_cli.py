"""`lotse rules check|explain`: validate rule catalogs and dry-run routing without a case.

Exit codes: 0 fine, 1 invalid catalog, 2 invalid request, 3 a need no rule matched, 4 the
evaluation failed (its evaluator process died or hung; rules/pool.py): try again.
"""

import sys
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from domain.explain import ExplainRequest
from domain.needs import RoutingResult

EXAMPLE = resources.files("rules") / "examples" / "explain-request.json"

app = typer.Typer(no_args_is_help=True, help="Regelkataloge prüfen und Routing erklären.")


@app.command()
def check(
    files: Annotated[
        list[Path] | None,
        typer.Argument(help="Regeldateien (YAML); ohne Angabe: die mitgelieferten Kataloge."),
    ] = None,
) -> None:
    """Validate rule catalogs; list every error and exit 1 when any is found."""
    import rules

    errors = rules.check_files(list(files) if files else None)
    for error in errors:
        typer.echo(error, err=True)
    if errors:
        typer.echo(f"{len(errors)} Fehler gefunden.", err=True)
        raise typer.Exit(1)
    typer.echo("Alle Regeldateien sind gültig.")


@app.command()
def explain(
    as_json: Annotated[bool, typer.Option("--json", help="JSON statt Tabelle ausgeben.")] = False,
    example: Annotated[
        bool, typer.Option("--example", help="Die mitgelieferte Beispielanfrage verwenden.")
    ] = False,
) -> None:
    """Read a request (today, municipality, centre_kind, profile, needs) from stdin and route it."""
    import rules

    text = EXAMPLE.read_text(encoding="utf-8") if example else sys.stdin.read()
    try:
        request = ExplainRequest.model_validate_json(text)
    except ValidationError as exc:
        for error in exc.errors():
            field = ".".join(str(part) for part in error["loc"]) or "(Eingabe)"
            typer.echo(f"{field}: {error['msg']}", err=True)
        raise typer.Exit(2) from None
    try:
        evaluator = rules.evaluator_for(request.municipality)
    except ValueError as exc:
        typer.echo(f"municipality: {exc}", err=True)
        raise typer.Exit(2) from None
    except rules.CatalogError as exc:
        typer.echo("\n".join(exc.errors), err=True)
        raise typer.Exit(1) from None
    try:
        result = evaluator.route(
            request.profile, request.needs, today=request.today, centre_kind=request.centre_kind
        )
    except (rules.RulesUnavailable, rules.RoutingEngineError) as exc:
        notice = f"Die Regelauswertung ist ausgefallen ({exc}); bitte erneut versuchen."
        typer.echo(notice, err=True)
        raise typer.Exit(4) from None
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
    else:
        typer.echo(render_table(result))
    if result.unrouted:
        raise typer.Exit(3)


def render_table(result: RoutingResult) -> str:
    """A readable German table of the routes, one block per route."""
    lines = [f"Regelwerk-Version: {result.ruleset_version[:12]}", ""]
    for route in result.routes:
        target = f" ({route.qualification})" if route.qualification else ""
        lines.append(f"Bedarf {route.need_index + 1} – {route.need}{target}")
        lines.append(f"  Regel:     {route.rule}")
        lines.append(f"  Stelle:    {route.actor}")
        lines.append(f"  Maßnahme:  {route.measure}")
        lines.append(f"  Begründung: {route.reason}")
        for follow_up in route.follow_ups:
            lines.append(f"  Nach {follow_up.after_days} Tagen: {follow_up.action}")
        lines.append("")
    for unrouted in result.unrouted:
        lines.append(f"NICHT ZUGEORDNET: Bedarf {unrouted.need_index + 1} – {unrouted.need}")
        lines.append(f"  {unrouted.reason}")
    return "\n".join(lines).rstrip() + "\n"
