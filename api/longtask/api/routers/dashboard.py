"""The dashboard page: plain HTML, JS and CSS shipped in the package (no build step, no CDN)."""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

router = APIRouter(tags=["dashboard"], include_in_schema=False)

STATIC = resources.files("longtask.api") / "static"


def static_files() -> StaticFiles:
    return StaticFiles(directory=str(STATIC))


@router.get("/", response_class=HTMLResponse)
async def index() -> HTMLResponse:
    return HTMLResponse(
        (STATIC / "index.html").read_text(),
        headers={
            "Content-Security-Policy": "default-src 'self'; style-src 'self'; script-src 'self'",
            "Cache-Control": "no-store",
        },
    )
