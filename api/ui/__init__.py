"""The web interface for counsellors, partner agencies, supervisors and evaluators:
server-rendered pages (Jinja2, htmx for small partial updates, no build step) on the API's own
app.

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
    account_admin_pages,
    auth_pages,
    case_actions,
    case_page,
    cases_pages,
    data_protection_pages,
    directory_import_page,
    directory_pages,
    evaluation_pages,
    inbound_pages,
    notification_pages,
    partner_pages,
    password_pages,
    rules_pages,
    supervisor_case,
    supervisor_lists,
    supervisor_pages,
    supervisor_referral,
)
from api.ui.session import make_config
from api.ui.web import Assets, not_found_page

STATIC = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    services: Services = app.state.services
    settings = services.settings
    secure = settings.ui_secure_cookies
    app.state.ui_config = make_config(
        services,
        secure_cookies=settings.is_production if secure is None else secure,
        lifetime=timedelta(minutes=settings.ui_session_minutes),
    )
    for pages in (
        auth_pages,
        cases_pages,
        case_page,
        case_actions,
        notification_pages,
        partner_pages,
        inbound_pages,
        supervisor_pages,
        supervisor_lists,
        supervisor_case,
        supervisor_referral,
        evaluation_pages,
        data_protection_pages,
        directory_import_page,
        directory_pages,
        rules_pages,
        password_pages,
        account_admin_pages,
    ):
        app.include_router(pages.router)
    app.mount("/static", Assets(directory=STATIC), name="static")
    # An address no route answers, asked by a browser: the pages' 404 (api/errors.py).
    app.state.browser_not_found = not_found_page
