"""Refusals become JSON errors with a Vietnamese message: {"error": {"code", "message"}}."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from server.services.errors import Conflict, Forbidden, Invalid, NotFound, QueueError, TooManyRequests, Unauthorized

STATUS = {
    NotFound: 404,
    Conflict: 409,
    Invalid: 422,
    Unauthorized: 401,
    Forbidden: 403,
    TooManyRequests: 429,
}

GENERIC = {
    400: "Yêu cầu không hợp lệ.",
    401: "Cần đăng nhập để thực hiện thao tác này.",
    403: "Bạn không có quyền thực hiện thao tác này.",
    404: "Không tìm thấy địa chỉ này.",
    405: "Phương thức không được hỗ trợ cho địa chỉ này.",
    413: "Dữ liệu gửi lên quá lớn.",
}


def error_response(status: int, code: str, message: str) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def _field_name(loc: tuple[object, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "dữ liệu"


def install(app: FastAPI) -> None:
    @app.exception_handler(QueueError)
    async def _refused(request: Request, exc: QueueError) -> JSONResponse:
        return error_response(STATUS.get(type(exc), 409), exc.code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for error in exc.errors():
            if error.get("type") == "json_invalid":
                problems.append("nội dung không phải JSON hợp lệ")
            else:
                problems.append(f"{_field_name(tuple(error.get('loc', ())))}: {error.get('msg', '')}")
        message = "Dữ liệu gửi lên không hợp lệ: " + "; ".join(problems[:5])
        return JSONResponse(
            {"error": {"code": "invalid_request", "message": message, "details": _jsonable(exc.errors())}},
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = GENERIC.get(exc.status_code, str(exc.detail))
        return error_response(exc.status_code, f"http_{exc.status_code}", message)


def _jsonable(errors: object) -> object:
    import json

    return json.loads(json.dumps(errors, default=str))
