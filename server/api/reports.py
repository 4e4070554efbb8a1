"""Reports for administrators: a range of service days as JSON, as an Excel workbook or as a CSV
table. A centre's administrator sees that centre; the province administrator names one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import WithJsonSchema

from server.api.common import refusals
from server.api.deps import Ctx, CurrentActor
from server.report_schemas import ReportOut
from server.services import report_export, reports

router = APIRouter(prefix="/reports", tags=["reports"])

READ = refusals(401, 403, 404, 422)

# Plain text, so that a wrong date gets the service's own message (server/services/reports.py);
# bounded, so that the refusal, which quotes it, stays short.
Day = Annotated[str | None, WithJsonSchema({"type": "string", "format": "date", "maxLength": 32, "examples": ["2026-11-23"]})]
DateFrom = Annotated[Day, Query(max_length=32, description="First service day, YYYY-MM-DD (the centre's local day).")]
DateTo = Annotated[
    Day, Query(max_length=32, description="Last service day, included, YYYY-MM-DD; at most 366 days after date_from.")
]
CentreId = Annotated[
    int | None, Query(description="Required for the province administrator; a centre's own administrator may omit it.")
]


def _download(content: bytes, media_type: str, name: str) -> Response:
    # The name is plain ASCII (bao-cao-…), so no RFC 5987 encoding is needed.
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


@router.get("", response_model=ReportOut, responses=READ)
def report(
    ctx: Ctx, actor: CurrentActor, date_from: DateFrom = None, date_to: DateTo = None, centre_id: CentreId = None
) -> ReportOut:
    """Figures of a range of service days, computed from the ticket event log: overall, by field,
    by counter, by officer, by hour of arrival, and satisfaction. How each is counted:
    server/services/report_figures.py."""
    return reports.report(ctx, actor, date_from, date_to, centre_id)


@router.get(
    "/export.xlsx",
    response_class=Response,
    responses={**READ, 200: {"content": {report_export.XLSX_MEDIA_TYPE: {}}, "description": "The workbook."}},
)
def export_xlsx(
    ctx: Ctx, actor: CurrentActor, date_from: DateFrom = None, date_to: DateTo = None, centre_id: CentreId = None
) -> Response:
    """The report as a workbook: Tổng hợp, Theo lĩnh vực, Theo quầy, Theo cán bộ, Theo giờ, Mức độ hài lòng."""
    built = reports.report(ctx, actor, date_from, date_to, centre_id)
    return _download(report_export.to_xlsx(built), report_export.XLSX_MEDIA_TYPE, report_export.file_name(built, "xlsx"))


@router.get(
    "/export.csv",
    response_class=Response,
    responses={**READ, 200: {"content": {"text/csv": {}}, "description": "One table, UTF-8 with BOM."}},
)
def export_csv(
    ctx: Ctx,
    actor: CurrentActor,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    centre_id: CentreId = None,
    table: Annotated[
        str | None,
        Query(max_length=32, description="tong-hop | linh-vuc | quay | can-bo | gio | hai-long; linh-vuc when omitted."),
    ] = None,
) -> Response:
    """One table of the report as CSV (comma separated, UTF-8 with BOM so Excel shows Vietnamese)."""
    reports.report_centre(actor, centre_id)  # who asks, before what is asked
    slug = report_export.check_csv_table(table)
    built = reports.report(ctx, actor, date_from, date_to, centre_id)
    chosen = report_export.csv_table(built, slug)
    return _download(report_export.to_csv(chosen), report_export.CSV_MEDIA_TYPE, report_export.file_name(built, "csv", slug))
