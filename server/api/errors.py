"""Refusals become JSON errors with a Vietnamese message: {"error": {"code", "message"}}."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
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

OUT_OF_RANGE = "Dữ liệu gửi lên không hợp lệ: số hoặc giá trị vượt giới hạn cho phép."
NOT_JSON = "Dữ liệu gửi lên phải là JSON (Content-Type: application/json)."

# FastAPI's words when a body cannot be decoded at all, and what we say instead.
FASTAPI_UNREADABLE_BODY = "There was an error parsing the body"
UNREADABLE_BODY = "Nội dung gửi lên không đọc được: cần là JSON viết bằng bảng mã UTF-8."

GENERIC = {
    400: "Yêu cầu không hợp lệ.",
    401: "Cần đăng nhập để thực hiện thao tác này.",
    403: "Bạn không có quyền thực hiện thao tác này.",
    404: "Không tìm thấy địa chỉ này.",
    405: "Phương thức không được hỗ trợ cho địa chỉ này.",
    413: "Dữ liệu gửi lên quá lớn.",
}


def error_response(status: int, code: str, message: str, retry_after: int | None = None) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def _field_name(loc: tuple[object, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts)


# Pydantic's error types, said in Vietnamese; {name} comes from the error's context.
PROBLEMS = {
    "missing": "thiếu",
    "extra_forbidden": "không được phép gửi",
    "int_parsing": "phải là số nguyên",
    "int_type": "phải là số nguyên",
    "int_from_float": "phải là số nguyên",
    "float_parsing": "phải là số",
    "bool_parsing": "phải là true hoặc false",
    "bool_type": "phải là true hoặc false",
    "string_type": "phải là chuỗi ký tự",
    "list_type": "phải là danh sách",
    "dict_type": "phải là một đối tượng JSON",
    "model_attributes_type": "phải là một đối tượng JSON",
    "time_parsing": "phải là giờ dạng HH:MM",
    "time_type": "phải là giờ dạng HH:MM",
    "date_parsing": "phải là ngày dạng YYYY-MM-DD",
    "string_too_short": "quá ngắn (ít nhất {min_length} ký tự)",
    "string_too_long": "quá dài (nhiều nhất {max_length} ký tự)",
    "too_short": "quá ít phần tử (ít nhất {min_length})",
    "too_long": "quá nhiều phần tử (nhiều nhất {max_length})",
    "string_pattern_mismatch": "không đúng định dạng",
    "greater_than_equal": "phải lớn hơn hoặc bằng {ge}",
    "greater_than": "phải lớn hơn {gt}",
    "less_than_equal": "phải nhỏ hơn hoặc bằng {le}",
    "less_than": "phải nhỏ hơn {lt}",
    "literal_error": "phải là một trong các giá trị: {expected}",
    "enum": "phải là một trong các giá trị: {expected}",
    "json_invalid": "nội dung không phải JSON hợp lệ",
    "json_type": "nội dung không phải JSON hợp lệ",
}

# The same, said of the whole body rather than of one input.
WHOLE_BODY = {
    "missing": "thiếu nội dung (một đối tượng JSON)",
    "dict_type": "nội dung phải là một đối tượng JSON",
    "model_attributes_type": "nội dung phải là một đối tượng JSON",
}


def problem(error: dict[str, Any]) -> tuple[str, str]:
    """One validation problem as (field, Vietnamese phrase): ("number_end", "phải nhỏ hơn hoặc bằng 999999")."""
    kind = str(error.get("type", ""))
    if kind in ("json_invalid", "json_type"):
        return "", PROBLEMS[kind]
    where = _field_name(tuple(error.get("loc", ())))
    if not where and kind in WHOLE_BODY:
        return "", WHOLE_BODY[kind]
    if kind == "value_error":
        # Our own validators already speak Vietnamese; pydantic prefixes "Value error, ".
        return where, str(error.get("msg", "")).removeprefix("Value error, ")
    template = PROBLEMS.get(kind)
    if template is None:
        return where, "giá trị không hợp lệ"
    try:
        return where, template.format(**error.get("ctx", {}))
    except (KeyError, IndexError):
        return where, template.split(" (")[0]


def describe(error: dict[str, Any]) -> str:
    """One validation problem as a Vietnamese phrase: "number_end: phải nhỏ hơn hoặc bằng 999999"."""
    where, phrase = problem(error)
    return f"{where}: {phrase}" if where else phrase


def install(app: FastAPI) -> None:
    @app.exception_handler(QueueError)
    async def _refused(request: Request, exc: QueueError) -> JSONResponse:
        retry_after = exc.retry_after if isinstance(exc, TooManyRequests) else None
        return error_response(STATUS.get(type(exc), 409), exc.code, exc.message, retry_after)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [problem(dict(error)) for error in exc.errors()]
        message = "Dữ liệu gửi lên không hợp lệ: " + "; ".join(f"{w}: {p}" if w else p for w, p in problems[:5])
        if _body_not_json(request, exc.errors()):
            message = NOT_JSON
        # `fields` lets a form put each phrase beside its input.
        fields = [{"field": where, "message": phrase} for where, phrase in problems]
        return JSONResponse(
            {"error": {"code": "invalid_request", "message": message, "fields": fields, "details": _jsonable(exc.errors())}},
            status_code=422,
        )

    @app.exception_handler(OverflowError)
    @app.exception_handler(DataError)
    async def _out_of_range(request: Request, exc: Exception) -> JSONResponse:
        # An id or number beyond what the database column stores (SQLite raises OverflowError,
        # PostgreSQL a DataError): nothing can have it. The transaction has been rolled back.
        return error_response(422, "value_out_of_range", OUT_OF_RANGE)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and exc.detail == FASTAPI_UNREADABLE_BODY:
            # Bytes that are not UTF-8 (an old Vietnamese code page, UTF-16): JSON cannot be read.
            return error_response(400, "body_not_utf8", UNREADABLE_BODY)
        message = GENERIC.get(exc.status_code, str(exc.detail))
        response = error_response(exc.status_code, f"http_{exc.status_code}", message)
        response.headers.update(exc.headers or {})
        if exc.status_code == 405:
            response.headers["Allow"] = _allowed_methods(request) or response.headers.get("Allow", "")
        return response


def _allowed_methods(request: Request) -> str:
    """Every method the API documents for this address. (The router names only those of the first
    route whose path matches: GET /admin/centres would hide POST /admin/centres.)"""
    methods: set[str] = set()
    for template, operations in request.app.openapi().get("paths", {}).items():
        pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, request.url.path):
            methods.update(method.upper() for method in operations)
    return ", ".join(sorted(methods))


def _body_not_json(request: Request, errors: Sequence[Any]) -> bool:
    """The body was sent with another Content-Type than JSON, so it was not read as JSON at all."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    whole_body = any(tuple(error.get("loc", ())) == ("body",) and error.get("type") in WHOLE_BODY for error in errors)
    return whole_body and not (content_type == "application/json" or content_type.endswith("+json"))


def _jsonable(errors: Sequence[Any]) -> object:
    import json

    # Not the input itself: it may be a password, or megabytes of text.
    kept = [{key: value for key, value in dict(error).items() if key not in ("input", "url")} for error in errors]
    return json.loads(json.dumps(kept, default=str))
