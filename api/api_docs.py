"""/docs: the interactive API documentation (Swagger UI), served entirely from this app.

FastAPI's own /docs and /redoc load Swagger UI and ReDoc from a CDN and start them with an
inline script: code from elsewhere on Lotse's origin, and a page the CSP would have to loosen
for. Here Swagger UI's script and stylesheet come from the `fastapi-offline` package (served
under /docs-assets), the starting script is Lotse's own file (/static/api-docs.js), and the
page carries the CSP and security headers of every web page (`api.ui.web`); the few icons
Swagger UI draws as data: images, which that CSP refuses, are drawn by /static/api-docs.css.
ReDoc is not offered. Administrators keep the directory through this page, in production too.
"""

from html import escape
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Response
from fastapi.responses import HTMLResponse

from api.ui.web import Assets, secure

ASSETS = "/docs-assets"
SWAGGER_UI = Path(fastapi_offline.__file__).parent / "static"


def page(title: str, openapi_url: str) -> str:
    return f"""<!doctype html>
<html lang="de">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)} – API-Dokumentation</title>
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="{ASSETS}/swagger-ui.css">
<link rel="stylesheet" href="/static/api-docs.css">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{escape(openapi_url)}"></div>
<script src="{ASSETS}/swagger-ui-bundle.js"></script>
<script src="/static/api-docs.js"></script>
</body>
</html>
"""


def install(app: FastAPI) -> None:
    """/docs and its assets on `app` (created with `docs_url=None, redoc_url=None`)."""
    assert app.openapi_url is not None
    html = page(app.title, app.openapi_url)
    app.mount(ASSETS, Assets(directory=SWAGGER_UI), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> Response:
        return secure(HTMLResponse(html, headers={"Cache-Control": "no-store"}))
