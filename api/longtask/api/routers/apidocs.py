"""The API docs pages (`/docs`, Swagger UI; `/redoc`), served with their scripts and styles
from the gateway's own package dependencies: no CDN, so they work in an air-gapped cluster.

The assets are fastapi-offline's copies of swagger-ui and ReDoc (static files only; its app
class is not used). FastAPI's own pages load them from a CDN, so the app turns those off.
"""

from __future__ import annotations

from importlib import resources
from typing import Final

from fastapi import APIRouter
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

router = APIRouter(include_in_schema=False)

ASSETS: Final = "/docs-assets"
OPENAPI_URL: Final = "/openapi.json"
TITLE: Final = "longtask gateway"


def static_files() -> StaticFiles:
    return StaticFiles(directory=str(resources.files("fastapi_offline") / "static"))


@router.get("/docs", response_class=HTMLResponse)
async def swagger_ui() -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url=OPENAPI_URL,
        title=f"{TITLE} — API",
        swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS}/favicon.png",
    )


@router.get("/redoc", response_class=HTMLResponse)
async def redoc() -> HTMLResponse:
    return get_redoc_html(
        openapi_url=OPENAPI_URL,
        title=f"{TITLE} — API",
        redoc_js_url=f"{ASSETS}/redoc.standalone.js",
        redoc_favicon_url=f"{ASSETS}/favicon.png",
        with_google_fonts=False,
    )
