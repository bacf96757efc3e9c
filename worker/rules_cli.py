"""`lotse rules check|explain`: validate rule catalogs and dry-run routing without a case.

`explain` routes by the catalogs shipped with Lotse (the federal table and the demo
municipality's), by a rule file (`--catalog FILE`: a full catalog, or a municipality's
changes merged onto the federal table) or by a draft in the configured database (`--draft
ID`, as `POST /rules/drafts` stored it). A municipality with neither a shipped catalog nor a
file or draft named is refused (exit 2), never routed by the federal table instead.

Exit codes: 0 fine, 1 invalid catalog, 2 invalid request, 3 a need no rule matched, 4 the
evaluation failed (its evaluator process died or hung; rules/pool.py): try again.
"""

import sys
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError

from domain.explain import ExplainRequest
from domain.needs import RoutingResult

if TYPE_CHECKING:
    from rules.schema import Catalog

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
    catalog: Annotated[
        Path | None,
        typer.Option(
            "--catalog",
            help="Nach dieser Regeldatei routen (ganzer Katalog oder Änderungen einer Kommune).",
        ),
    ] = None,
    draft: Annotated[
        int | None,
        typer.Option("--draft", min=1, help="Nach diesem Entwurf aus der Datenbank routen."),
    ] = None,
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
    if catalog is not None and draft is not None:
        typer.echo("Bitte nur --catalog oder --draft angeben, nicht beides.", err=True)
        raise typer.Exit(2)
    try:
        if catalog is not None:
            evaluator = rules.Evaluator(rules.load_catalog_file(catalog))
        elif request.rules is not None:
            from rules.overrides import override_catalog

            if request.municipality is None:
                raise ValueError("„rules“ braucht eine Kommune")
            evaluator = rules.Evaluator(override_catalog(request.rules, request.municipality))
        elif draft is not None or request.draft_id is not None:
            evaluator = rules.Evaluator(_draft_catalog(draft or request.draft_id or 0))
        else:
            evaluator = rules.Evaluator(_shipped_catalog(request.municipality))
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


def _shipped_catalog(municipality: str | None) -> "Catalog":
    """The federal table (no municipality) or a shipped municipality's catalog; ValueError for
    any other municipality: its rules live in a database (`--draft`) or a file (`--catalog`)."""
    from rules.catalog import default_catalog, load_catalog, packaged_names

    if municipality is None:
        return default_catalog()
    if municipality not in packaged_names():
        raise ValueError(
            f"für '{municipality}' ist kein Regelwerk mitgeliefert; bitte --catalog DATEI "
            "oder --draft ID angeben"
        )
    return load_catalog(municipality)


def _draft_catalog(draft_id: int) -> "Catalog":
    """A draft (or any version) of the configured database, merged onto the federal table."""
    from sqlmodel import Session

    from app.settings import Settings
    from rules.overrides import override_catalog
    from store import rule_sets
    from store.db import make_engine

    settings = Settings()
    engine = make_engine(settings.database_url, settings.data_dir)
    with Session(engine) as session:
        row = rule_sets.version_by_id(session, draft_id)
        if row is None:
            raise ValueError(f"draft: keinen Entwurf {draft_id} in der Datenbank gefunden")
        return override_catalog(row.override_text, row.municipality_id, f"Entwurf {draft_id}")


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
