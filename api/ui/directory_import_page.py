"""„Verzeichnis importieren“ (`/verwaltung/import`, administrators only): upload CSV files of
municipalities, centres, partners and accounts; the same import as `lotse directory import`
(store/directory_import.py), as the logged-in administrator.

A refused import lists every problem by file, line and column and writes nothing; it travels
to the page in the refused form's cookie when it fits (api/ui/flash.py), else it is shown at
the POST URL. A successful one answers 303 to the page with its counts in the query (counts
only: nothing personal in an address). The upload is bounded by the API's body limit
(`LOTSE_API_MAX_BODY_BYTES`); larger files go through the command line.
"""

import re
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from api.ui import flash
from api.ui.forms import FormState, flag, text
from api.ui.session import AdminUser, Form, services_of
from api.ui.web import PageRoute, redirect, render
from domain.directory_csv import MAX_FILE_BYTES
from domain.directory_rows import KIND_LABELS, DirectoryKind
from store.directory_import import MAX_FILES, Counts, ImportOutcome, import_directory

router = APIRouter(route_class=PageRoute, include_in_schema=False)

PAGE = "/verwaltung/import"
FILES = "dateien"
KIND = "art"
DRY_RUN = "nur_pruefen"
# The query parameter of each kind's counts on the page after an import.
PARAMETERS = {
    DirectoryKind.MUNICIPALITIES: "kommunen",
    DirectoryKind.CENTRES: "stellen",
    DirectoryKind.PARTNERS: "partner",
    DirectoryKind.USERS: "konten",
}
_COUNTS = re.compile(r"([0-9]{1,6})\.([0-9]{1,6})\.([0-9]{1,6})")
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._()-]{0,79}")
Counted = Annotated[str, Query(max_length=24)]


def _render(
    request: Request, state: FormState, status_code: int = 200, **shown: object
) -> Response:
    context = {
        "form": state,
        "kinds": [(kind.value, label) for kind, label in KIND_LABELS.items()],
        "limit_kib": services_of(request).settings.api_max_body_bytes // 1024,
        "max_files": MAX_FILES,
        "counts": shown.get("counts", []),
        "dry_run": shown.get("dry_run", False),
        "new_accounts": shown.get("new_accounts", 0),
    }
    return render(request, "verwaltung/import.html", context, status_code)


@router.get(PAGE, name="ui.admin.directory_import")
def import_page(
    request: Request,
    user: AdminUser,
    kommunen: Counted = "",
    stellen: Counted = "",
    partner: Counted = "",
    konten: Counted = "",
    geprueft: Annotated[str, Query(max_length=2)] = "",
) -> Response:
    if refusal := flash.take(request):
        return _render(request, refusal.state, refusal.status)
    given = dict(zip(PARAMETERS, (kommunen, stellen, partner, konten), strict=True))
    counts = {
        kind: Counts(*map(int, found.groups()))
        for kind, value in given.items()
        if (found := _COUNTS.fullmatch(value))
    }
    return _render(
        request,
        FormState(),
        counts=[(KIND_LABELS[kind], c) for kind, c in counts.items()],
        dry_run=geprueft == "1",
        new_accounts=counts.get(DirectoryKind.USERS, Counts()).new,
    )


def _source(upload: UploadFile, position: int) -> str:
    # The name a file had on the administrator's machine, when it is a plain one; it names
    # the file in the problems, which the page shows.
    name = (upload.filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    return name if _SAFE_NAME.fullmatch(name) else f"Datei {position}"


@router.post(PAGE, name="ui.admin.directory_import_upload")
async def upload(request: Request, user: AdminUser, form: Form) -> Response:
    uploads = [item for item in form.getlist(FILES) if isinstance(item, UploadFile)]
    chosen = [item for item in uploads if item.filename or item.size]
    wanted = text(form, KIND)
    errors: dict[str, str] = {}
    if wanted and wanted not in {kind.value for kind in DirectoryKind}:
        errors[KIND] = "Art: Unbekannter Wert; bitte wählen Sie einen der angebotenen Werte."
    if not chosen:
        errors[FILES] = "Bitte mindestens eine CSV-Datei auswählen."
    elif len(chosen) > MAX_FILES:
        errors[FILES] = f"Zu viele Dateien: höchstens {MAX_FILES} auf einmal."
    if errors:
        return _refused(request, form, errors)
    # One byte over the limit is enough to refuse a file (the body limit bounds them anyway).
    files = [
        (_source(item, n), await item.read(MAX_FILE_BYTES + 1))
        for n, item in enumerate(chosen, start=1)
    ]
    outcome: ImportOutcome = await run_in_threadpool(
        import_directory,
        services_of(request).engine,
        files,
        actor=user.username,
        kind=DirectoryKind(wanted) if wanted else None,
        dry_run=flag(form, DRY_RUN),
    )
    if not outcome.ok:
        problems = {f"problem-{n}": str(p) for n, p in enumerate(outcome.problems, start=1)}
        return _refused(request, form, problems)
    query = "&".join(
        f"{PARAMETERS[kind]}={c.new}.{c.changed}.{c.unchanged}"
        for kind, c in outcome.counts.items()
    )
    return redirect(f"{PAGE}?{query}" + ("&geprueft=1" if outcome.dry_run else ""))


def _refused(request: Request, form: Form, errors: dict[str, str]) -> Response:
    state = FormState.submitted(form, errors)
    status_code = status.HTTP_422_UNPROCESSABLE_CONTENT
    if moved := flash.refused(request, PAGE, "import", state, status_code):
        return moved
    return _render(request, state, status_code)
