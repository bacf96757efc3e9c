"""The web interface for counsellors, partner agencies and supervisors: server-rendered pages
(Jinja2, htmx for small partial updates, no build step) on the API's own app.

`install(app)` adds the pages, the static assets under /static and the session settings; it
needs the API's services in `app.state.services` (api/main.py creates them first). The pages
use the API's users, roles, scope checks (api/deps.py), service functions (api/casework.py,
api/supervision.py, api/case_archive.py), the same reads as the routes (store/reads/) and the
same typed workflow updates (api/gateway.py); this package adds only what a browser needs: a
session cookie, CSRF tokens, HTML forms and German pages. No page imports `api.routes`.
"""

from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI

from api.deps import Services
from api.ui import (
    auth_pages,
    case_actions,
    case_page,
    cases_pages,
    partner_pages,
    supervisor_pages,
)
from api.ui.session import DEFAULT_SESSION_LIFETIME, make_config
from api.ui.web import Assets

STATIC = Path(__file__).parent / "static"


def _setting(services: Services, name: str) -> object:
    # Read defensively: the UI's two settings may not be part of `Settings` yet; until they are,
    # production implies Secure cookies and a session lasts one working day.
    return getattr(services.settings, name, None)


def install(app: FastAPI) -> None:
    services: Services = app.state.services
    secure = _setting(services, "ui_secure_cookies")
    minutes = _setting(services, "ui_session_minutes")
    app.state.ui_config = make_config(
        services,
        secure_cookies=secure if isinstance(secure, bool) else services.settings.is_production,
        lifetime=timedelta(minutes=minutes)
        if isinstance(minutes, int)
        else DEFAULT_SESSION_LIFETIME,
    )
    for pages in (
        auth_pages,
        cases_pages,
        case_page,
        case_actions,
        partner_pages,
        supervisor_pages,
    ):
        app.include_router(pages.router)
    app.mount("/static", Assets(directory=STATIC), name="static")
