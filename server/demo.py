"""A realistic commune centre to try hangdoi with: `hangdoi demo`."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session, select

from server.services.admin import add_device
from server.services.auth import create_officer
from server.storage import tables

CENTRE_NAME = "Trung tâm Phục vụ hành chính công phường Ba Đình"

# (code, name, first number, last number, minutes a service usually takes)
FIELDS = [
    ("HT", "Hộ tịch", 1001, 1999, 6),
    ("CT", "Chứng thực", 2001, 2999, 3),
    ("DD", "Đất đai", 3001, 3999, 12),
    ("XD", "Xây dựng – Đô thị", 4001, 4999, 10),
    ("KD", "Kinh doanh", 5001, 5999, 8),
    ("LD", "Lao động – Bảo trợ xã hội", 6001, 6999, 7),
    ("DVC", "Hỗ trợ dịch vụ công trực tuyến", 7001, 7999, 9),
]

# Counter number → the fields it serves, in the order it calls them. They overlap on purpose:
# a quiet counter helps a busy field.
COUNTERS = {
    1: ["HT", "CT"],
    2: ["CT", "HT"],
    3: ["DD", "XD"],
    4: ["KD", "LD", "DVC"],
    5: ["DVC", "LD", "KD", "CT"],
}

# (username, full name, role, public phone, counter they usually sit at)
OFFICERS = [
    ("quantri", "Nguyễn Thị Thu Hà", "admin", "0243 826 0001", None),
    ("lan.nt", "Nguyễn Thị Lan", "officer", "0912 301 101", 1),
    ("hung.tv", "Trần Văn Hùng", "officer", "0912 301 102", 2),
    ("mai.lt", "Lê Thị Mai", "officer", "0912 301 103", 3),
    ("duc.pm", "Phạm Minh Đức", "officer", "0912 301 104", 4),
    ("huong.vt", "Vũ Thị Hương", "officer", "0912 301 105", 5),
]

PRIORITY_GROUPS = [
    ("NCT", "Người cao tuổi"),
    ("NKT", "Người khuyết tật"),
    ("PNMT", "Phụ nữ mang thai"),
    ("TRENHO", "Người đi cùng trẻ nhỏ"),
    ("NCC", "Người có công với cách mạng"),
]

DEMO_PASSWORD = "demo12345"


@dataclass
class DemoCentre:
    centre_id: int
    # (id, code, name, first number, last number)
    fields: list[tuple[int, str, str, int, int]] = field(default_factory=list)
    logins: list[dict[str, object]] = field(default_factory=list)
    devices: dict[str, str] = field(default_factory=dict)
    created: bool = True


def create_demo(session: Session, password: str = DEMO_PASSWORD) -> DemoCentre:
    """Create the demo centre once; a second run reports the existing one and creates nothing."""
    existing = session.exec(select(tables.Centre).where(tables.Centre.name == CENTRE_NAME)).first()
    if existing is not None:
        assert existing.id is not None
        return DemoCentre(centre_id=existing.id, created=False)
    centre = tables.Centre(
        name=CENTRE_NAME,
        address="Số 1 phố Điện Biên Phủ, phường Ba Đình, thành phố Hà Nội",
        # Open every day and all day so the demo works whenever someone tries it; a real centre
        # sets its hours (e.g. 07:30–17:00, Monday to Friday) in the admin console.
        working_days="0123456",
        notice_text="Công dân vui lòng lấy số thứ tự và chờ đến lượt. Xin cảm ơn!",
    )
    session.add(centre)
    session.flush()
    assert centre.id is not None
    fields: dict[str, tables.ProcedureField] = {}
    for order, (code, name, start, end, minutes) in enumerate(FIELDS):
        fields[code] = tables.ProcedureField(
            centre_id=centre.id,
            code=code,
            name=name,
            number_start=start,
            number_end=end,
            display_order=order,
            default_service_seconds=minutes * 60,
        )
        session.add(fields[code])
    for order, (code, name) in enumerate(PRIORITY_GROUPS):
        session.add(tables.PriorityGroup(centre_id=centre.id, code=code, name=name, display_order=order))
    session.flush()
    counter_ids: dict[int, int] = {}
    for number, codes in COUNTERS.items():
        counter = tables.Counter(centre_id=centre.id, number=number, name=f"Quầy {number}")
        session.add(counter)
        session.flush()
        assert counter.id is not None
        counter_ids[number] = counter.id
        for position, code in enumerate(codes):
            session.add(tables.CounterField(counter_id=counter.id, field_id=fields[code].id, position=position))  # type: ignore[arg-type]
    result = DemoCentre(centre_id=centre.id)
    result.fields = [(f.id, f.code, f.name, f.number_start, f.number_end) for f in fields.values()]  # type: ignore[misc]
    for username, full_name, role, phone, counter_number in OFFICERS:
        create_officer(session, centre.id, username, full_name, role, password, phone)
        result.logins.append({"username": username, "full_name": full_name, "role": role, "counter": counter_number})
    _kiosk, kiosk_token = add_device(session, centre.id, "kiosk", "Máy lấy số sảnh chính")
    _display, display_token = add_device(session, centre.id, "display", "Màn hình phòng chờ")
    result.devices = {"kiosk": kiosk_token, "display": display_token}
    # One rating tablet per counter (the web page /rating opened with its token).
    for number, counter_id in counter_ids.items():
        _panel, panel_token = add_device(session, centre.id, "counter_panel", f"Màn hình quầy {number}", counter_id)
        result.devices[f"counter_panel_{number}"] = panel_token
    session.commit()
    return result
