"""The web portal: pages for duty teams, providers' office staff and contract managers.

Served by the API process under ``/portal`` (``install_portal``); server-rendered with
Jinja2, a little plain JavaScript, every asset local.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from ecm.portal.accounts import AccountStore
from ecm.portal.web import HERE, PageRefused, SignInRequired, page, router, secure


def install_portal(app: FastAPI, accounts: AccountStore) -> None:
    """Serve the portal's pages and assets from ``app``, with accounts from ``accounts``."""
    import ecm.portal.pages  # noqa: F401  (registers the pages on the router)

    app.state.accounts = accounts
    app.mount("/portal/static", StaticFiles(directory=HERE / "static"), name="portal-static")
    app.include_router(router)

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, exc: SignInRequired) -> Response:
        return secure(RedirectResponse(router.url_path_for("portal-sign-in-form"),
                                       status_code=303))

    @app.exception_handler(PageRefused)
    async def _refused(request: Request, exc: PageRefused) -> Response:
        title = {404: "Not found", 422: "Not accepted", 503: "Unavailable"}.get(
            exc.status, "Not allowed")
        return page(request, "error.html", None, title, status=exc.status, message=exc.reason)


__all__ = ["install_portal"]
