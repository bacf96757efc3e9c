"""How the API says no: one JSON shape for every 4xx/5xx, German messages, never a stack trace.

Every error answer is `{"detail": "<one German sentence>"}`; validation errors add `errors`, a
list of `{"field", "message"}` with the dotted path of each bad field (`profile.birth_date`,
pydantic's `loc` without its "body"/"query"), so a form can put the message next to the field.
Each message names its field and says what to do („Bitte geben Sie den Vornamen ein.“,
„Maßnahme 3: Begründung: Zu lang, höchstens 2000 Zeichen.“); the words come from
api/field_messages.py, which the pages use too.
"""

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.field_messages import describe_all, label, path_of

log = logging.getLogger(__name__)


def validation_errors(
    errors: Sequence[Mapping[str, Any]], model: str | None = None
) -> list[dict[str, str]]:
    """`[{"field", "message"}]` for pydantic's error list, one per field, each message naming
    its field in German (api/field_messages.py). A choice refused says the allowed codes too:
    an API client needs them (a page offers its choices instead)."""
    answer = []
    for problem in describe_all(errors, model):
        message = problem.message
        codes = _allowed(errors, problem.field)
        if codes:
            message = f"{message.removesuffix('.')}; erlaubt sind {codes}."
        answer.append({"field": problem.field or "(Eingabe)", "message": message})
    return answer


def _allowed(errors: Sequence[Mapping[str, Any]], field: str) -> str | None:
    for error in errors:
        if path_of(error.get("loc", ())) == field and error.get("type") in _CHOICES:
            expected = (error.get("ctx") or {}).get("expected")
            # pydantic lists an enum's members as reprs (<SetAside.REST: 'rest'>): the codes.
            codes = _MEMBER.sub(r"\1", str(expected))
            return codes.replace("' or '", "' oder '") if expected else None
    return None


_CHOICES = {"enum", "literal_error"}
_MEMBER = re.compile(r"<\w+\.\w+: ('[^']*')>")


def validation_response(errors: list[dict[str, str]]) -> JSONResponse:
    # Each message names its field already („Bitte geben Sie den Vornamen ein.“).
    summary = " ".join(e["message"] for e in errors[:5])
    return JSONResponse(
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        content={"detail": f"Ungültige Eingabe – {summary}", "errors": errors},
    )


async def _request_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return validation_response(validation_errors(exc.errors(), _body_model(request)))


def _body_model(request: Request) -> str | None:
    """The name of the route's body model (`DeclineReason`), whose own field labels come
    first (api/field_messages.py MODEL_FIELDS)."""
    body = getattr(request.scope.get("route"), "body_field", None)
    annotation = getattr(getattr(body, "field_info", None), "annotation", None)
    return getattr(annotation, "__name__", None)


# Starlette's own English details (routing, body limit) said in German.
_HTTP_DETAILS: dict[int, str] = {
    404: "Nicht gefunden.",
    405: "Diese Methode ist hier nicht erlaubt.",
    413: "Die Anfrage ist zu groß.",
}
# FastAPI's words for a body its JSON parser gave up on (e.g. nested thousands deep).
_UNPARSABLE_BODY = "There was an error parsing the body"


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    page = getattr(request.app.state, "browser_not_found", None)
    if exc.status_code == 404 and page is not None and _wants_html(request):
        # An address nothing answers, typed or followed in a browser: the pages' 404 with the
        # ways on (api/ui/web.py), not a JSON document. API clients get JSON as before.
        answer: Response = await page(request)
        return answer
    detail: Any = exc.detail
    if not isinstance(detail, str | dict | list) or detail == _default_phrase(exc.status_code):
        detail = _HTTP_DETAILS.get(exc.status_code, detail)
    if detail == _UNPARSABLE_BODY:
        detail = (
            "Der Inhalt der Anfrage ist nicht lesbar "
            "(kein gültiges oder zu tief verschachteltes JSON)."
        )
    content: dict[str, Any] = detail if isinstance(detail, dict) else {"detail": detail}
    return JSONResponse(status_code=exc.status_code, content=content, headers=exc.headers)


def _wants_html(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return request.method in ("GET", "HEAD") and "text/html" in accept


def _default_phrase(status_code: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status_code).phrase
    except ValueError:
        return ""


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # The one place a bug surfaces: logged with its trace, answered without it.
    log.exception("Unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(
        status_code=status.HTTP_500_INTERNAL_SERVER_ERROR,
        content={"detail": "Interner Fehler; er wurde protokolliert."},
    )


class FieldProblem(BaseModel):
    field: str  # dotted path, e.g. "profile.birth_date"
    message: str  # German


class ValidationProblem(BaseModel):
    """The 422 answer as the API sends it (and as its OpenAPI document now says); `errors` is
    there when the refusal is about fields."""

    detail: str
    errors: list[FieldProblem] = []


def _document_validation_answer(app: FastAPI) -> None:
    """FastAPI documents every 422 as its own `HTTPValidationError` (`detail` a list); this
    API answers `ValidationProblem`. The document says what is sent, so clients and the
    schema checks of tests/api/test_fuzz.py can rely on it."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schemas = generate().setdefault("components", {}).setdefault("schemas", {})
            if "HTTPValidationError" in schemas:
                answer = ValidationProblem.model_json_schema(
                    ref_template="#/components/schemas/{model}"
                )
                schemas.update(answer.pop("$defs", {}))
                schemas["HTTPValidationError"] = answer
                schemas.pop("ValidationError", None)
        return app.openapi_schema or generate()

    app.openapi = openapi  # type: ignore[method-assign]


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http_exception)
    app.add_exception_handler(Exception, _unexpected)
    _document_validation_answer(app)


def invalid(field: str, message: str) -> HTTPException:
    """A 422 for one field, in the shape validation errors have (raised by a check that
    pydantic cannot make, e.g. a referral to a centre out of the partner's reach)."""
    said = named(field, message)
    return HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        detail={
            "detail": f"Ungültige Eingabe – {said}",
            "errors": [{"field": field, "message": said}],
        },
    )


def named(field: str, message: str) -> str:
    """A rule's message about `field` („Es gibt keine Aufgabe …“) with the field's label in
    front, so the API's answer says which field without its path."""
    if not field or field == "(Eingabe)":
        return message
    name = label(field)
    # „Die Beratungsstelle … gibt es nicht.“ names its field already.
    if name.lower() in message.lower():
        return message
    return f"{name}: {message}"
