"""The dashboard: plain HTML, ES modules and CSS shipped in the package (no build step, no CDN).

`/` serves the page; its scripts and styles come from `/static`. The page learns the gateway's
auth mode from a meta tag, so it asks for a key before its first call instead of after a 401.
"""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from longtask.api import deps

router = APIRouter(tags=["dashboard"], include_in_schema=False)

STATIC = resources.files("longtask.api") / "static"
# Nothing from another host: scripts, styles, images and connections stay on the gateway.
CSP = (
    "default-src 'self'; style-src 'self'; script-src 'self'; img-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


def static_files() -> StaticFiles:
    return StaticFiles(directory=str(STATIC))


@router.get("/", response_class=HTMLResponse)
async def index(runtime: deps.RuntimeDep) -> HTMLResponse:
    page = (STATIC / "index.html").read_text()
    page = page.replace("%AUTH_MODE%", runtime.settings.auth_mode.value)
    return HTMLResponse(page, headers={"Content-Security-Policy": CSP, "Cache-Control": "no-store"})
