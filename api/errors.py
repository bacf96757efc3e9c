"""How the API says no: one JSON shape for every 4xx/5xx, German messages, never a stack trace.

Every error answer is `{"detail": "<one German sentence>"}`; validation errors add `errors`, a
list of `{"field", "message"}` with the dotted path of each bad field (`profile.birth_date`),
so a form can put the message next to the field. Pydantic's messages are English; the common
ones are said again in German here, a domain validator's German message is passed through.
"""

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

# Pydantic error types (https://docs.pydantic.dev/latest/errors/validation_errors/) in German.
_MESSAGES: dict[str, str] = {
    "missing": "Pflichtfeld fehlt.",
    "extra_forbidden": "Unbekanntes Feld.",
    "json_invalid": "Kein gültiges JSON.",
    "json_type": "Erwartet wird ein JSON-Dokument.",
    "model_type": "Erwartet wird ein Objekt.",
    "model_attributes_type": "Erwartet wird ein Objekt.",
    "dict_type": "Erwartet wird ein Objekt.",
    "list_type": "Erwartet wird eine Liste.",
    "string_type": "Erwartet wird ein Text.",
    "int_type": "Erwartet wird eine ganze Zahl.",
    "int_parsing": "Erwartet wird eine ganze Zahl.",
    "int_from_float": "Erwartet wird eine ganze Zahl.",
    "bool_type": "Erwartet wird true oder false.",
    "bool_parsing": "Erwartet wird true oder false.",
    "date_type": "Erwartet wird ein Datum (JJJJ-MM-TT).",
    "date_parsing": "Erwartet wird ein Datum (JJJJ-MM-TT).",
    "date_from_datetime_parsing": "Erwartet wird ein Datum (JJJJ-MM-TT).",
    "date_from_datetime_inexact": "Erwartet wird ein Datum ohne Uhrzeit (JJJJ-MM-TT).",
    "datetime_parsing": "Erwartet wird ein Zeitpunkt (ISO 8601).",
    "datetime_type": "Erwartet wird ein Zeitpunkt (ISO 8601).",
    "uuid_parsing": "Erwartet wird eine UUID.",
    "string_unicode": "Der Text enthält ungültige Zeichen (kein gültiges Unicode).",
    "float_parsing": "Erwartet wird eine Zahl.",
    "float_type": "Erwartet wird eine Zahl.",
}


def _field(location: Sequence[Any]) -> str:
    # "body" / "query" / "path" say where, not which field; a bare location stays readable.
    parts = [str(part) for part in location]
    if len(parts) > 1 and parts[0] in {"body", "query", "path", "header"}:
        parts = parts[1:]
    return ".".join(parts) or "(Eingabe)"


def _message(error: Mapping[str, Any]) -> str:
    kind = str(error.get("type", ""))
    context = error.get("ctx") or {}
    if kind == "enum" and "expected" in context:
        return f"Unbekannter Wert; erlaubt sind {context['expected']}."
    if kind == "literal_error" and "expected" in context:
        return f"Unbekannter Wert; erlaubt sind {context['expected']}."
    if kind in {"string_too_short", "too_short"} and "min_length" in context:
        return f"Zu kurz: mindestens {context['min_length']}."
    if kind in {"string_too_long", "too_long"} and "max_length" in context:
        return f"Zu lang: höchstens {context['max_length']}."
    if kind in {"greater_than_equal", "greater_than", "less_than_equal", "less_than"}:
        limits = {
            "greater_than_equal": ("ge", "mindestens"),
            "greater_than": ("gt", "größer als"),
            "less_than_equal": ("le", "höchstens"),
            "less_than": ("lt", "kleiner als"),
        }
        key, words = limits[kind]
        if key in context:
            return f"Der Wert muss {words} {context[key]} sein."
    if kind == "string_pattern_mismatch" and "pattern" in context:
        return f"Das Format stimmt nicht (erwartet: {context['pattern']})."
    if kind in _MESSAGES:
        return _MESSAGES[kind]
    # Domain validators already speak German ("Value error, " is pydantic's prefix).
    return str(error.get("msg", "Ungültiger Wert.")).removeprefix("Value error, ")


def validation_errors(errors: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """`[{"field", "message"}]` for pydantic's error list."""
    return [{"field": _field(error.get("loc", ())), "message": _message(error)} for error in errors]


def validation_response(errors: list[dict[str, str]]) -> JSONResponse:
    summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
    return JSONResponse(
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        content={"detail": f"Ungültige Eingabe – {summary}", "errors": errors},
    )


async def _request_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return validation_response(validation_errors(exc.errors()))


# Starlette's own English details (routing, body limit) said in German.
_HTTP_DETAILS: dict[int, str] = {
    404: "Nicht gefunden.",
    405: "Diese Methode ist hier nicht erlaubt.",
    413: "Die Anfrage ist zu groß.",
}


async def _http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail: Any = exc.detail
    if not isinstance(detail, str | dict | list) or detail == _default_phrase(exc.status_code):
        detail = _HTTP_DETAILS.get(exc.status_code, detail)
    content: dict[str, Any] = detail if isinstance(detail, dict) else {"detail": detail}
    return JSONResponse(status_code=exc.status_code, content=content, headers=exc.headers)


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
    return HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        detail={
            "detail": f"Ungültige Eingabe – {field}: {message}",
            "errors": [{"field": field, "message": message}],
        },
    )
