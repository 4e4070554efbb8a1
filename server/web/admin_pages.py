"""The admin console's pages: sign-in, configuration, the live dashboard and the reports. They are
static shells; their scripts read and write through the JSON API with the admin's token."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse

from server.web.pages import render

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=RedirectResponse)
def home() -> RedirectResponse:
    return RedirectResponse("/admin", status_code=303)


@router.get("/admin", response_class=HTMLResponse)
def console() -> HTMLResponse:
    return render("admin.html")


@router.get("/admin/dashboard", response_class=HTMLResponse)
def dashboard() -> HTMLResponse:
    return render("dashboard.html")


@router.get("/admin/reports", response_class=HTMLResponse)
def reports() -> HTMLResponse:
    return render("reports.html")
