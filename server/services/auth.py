"""Signing in and out, and turning a bearer token into an Actor."""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, text, update
from sqlmodel import Session, col, select

from server import schemas
from server.engine import limits
from server.engine import queue as engine
from server.engine.model import CounterState
from server.security import (
    DEVICE_TOKEN_PREFIX,
    DUMMY_HASH,
    OFFICER_TOKEN_PREFIX,
    hash_password,
    needs_rehash,
    new_token,
    token_hash,
    verify_password,
)
from server.services import views
from server.services.context import Actor, AppContext, UnitOfWork, run_command
from server.services.errors import Conflict, Forbidden, NotFound, TooManyRequests, Unauthorized
from server.storage import tables
from server.storage.convert import write_back

log = logging.getLogger(__name__)

# A device's "last seen" is written at most this often, so polling screens do not turn every read
# into a write.
LAST_SEEN_EVERY = timedelta(seconds=30)

BAD_LOGIN = "Tên đăng nhập hoặc mật khẩu không đúng."
BAD_TOKEN = "Phiên đăng nhập không hợp lệ hoặc đã hết hạn. Xin đăng nhập lại."


def officer_out(officer: tables.Officer) -> schemas.OfficerOut:
    return schemas.OfficerOut.model_validate(officer, from_attributes=True)


# Every request runs one of these; built once, they cost a lookup instead of a statement build.
_OFFICER_BY_TOKEN = (
    select(tables.AuthSession, tables.Officer).join(tables.Officer).where(tables.AuthSession.token_hash == bindparam("digest"))
)
_DEVICE_BY_TOKEN = select(tables.Device).where(tables.Device.token_hash == bindparam("digest"))


_OFFICERS_BY_TOKENS = (
    select(tables.AuthSession, tables.Officer)
    .join(tables.Officer)
    .where(col(tables.AuthSession.token_hash).in_(bindparam("digests", expanding=True)))
)
_DEVICES_BY_TOKENS = select(tables.Device).where(col(tables.Device.token_hash).in_(bindparam("digests", expanding=True)))

BAD_DEVICE = "Mã thiết bị không hợp lệ hoặc đã bị thu hồi."


def _officer_actor(auth: tables.AuthSession, officer: tables.Officer, now: datetime) -> Actor:
    if auth.revoked_at is not None or auth.expires_at <= now or not officer.active:
        raise Unauthorized("invalid_token", BAD_TOKEN)
    return Actor(
        kind="officer",
        id=officer.id,  # type: ignore[arg-type]
        centre_id=officer.centre_id,
        role=officer.role,
        name=officer.full_name,
        counter_id=auth.counter_id,
        session_id=auth.id,
    )


def _device_actor(device: tables.Device | None) -> Actor:
    if device is None or not device.active:
        raise Unauthorized("invalid_token", BAD_DEVICE)
    return Actor(
        kind="device",
        id=device.id,  # type: ignore[arg-type]
        centre_id=device.centre_id,
        role=device.kind,
        name=device.name,
        counter_id=device.counter_id,
    )


def _is_stale(device: tables.Device, now: datetime) -> bool:
    return device.last_seen_at is None or now - device.last_seen_at >= LAST_SEEN_EVERY


def authenticate(ctx: AppContext, token: str | None) -> Actor:
    if not token:
        raise Unauthorized("not_authenticated", "Cần đăng nhập hoặc mã thiết bị để thực hiện thao tác này.")
    now = ctx.clock.now()
    digest = token_hash(token)
    with ctx.read() as session:
        if token.startswith(OFFICER_TOKEN_PREFIX):
            row = session.exec(_OFFICER_BY_TOKEN, params={"digest": digest}).first()
            if row is None:
                raise Unauthorized("invalid_token", BAD_TOKEN)
            return _officer_actor(*row, now)
        if not token.startswith(DEVICE_TOKEN_PREFIX):
            raise Unauthorized("invalid_token", BAD_TOKEN)
        device = session.exec(_DEVICE_BY_TOKEN, params={"digest": digest}).first()
        actor = _device_actor(device)
        stale = device is not None and _is_stale(device, now)
    if stale:
        touch_device(ctx, actor.id)
    return actor


def check_tokens(ctx: AppContext, tokens: Collection[str]) -> dict[str, Unauthorized | None]:
    """Whether each token is still good (None) or why not, with two reads for any number of them.
    The live feeds check their credentials once a heartbeat: thousands of screens on one server
    cost a read per batch, not one per screen."""
    now = ctx.clock.now()
    results: dict[str, Unauthorized | None] = {t: Unauthorized("invalid_token", BAD_TOKEN) for t in tokens}
    by_digest = {token_hash(t): t for t in tokens}
    officer_digests = [d for d, t in by_digest.items() if t.startswith(OFFICER_TOKEN_PREFIX)]
    device_digests = [d for d, t in by_digest.items() if t.startswith(DEVICE_TOKEN_PREFIX)]
    seen: list[int] = []
    with ctx.read() as session:
        if officer_digests:
            for auth, officer in session.exec(_OFFICERS_BY_TOKENS, params={"digests": officer_digests}).all():
                token = by_digest[auth.token_hash]
                try:
                    _officer_actor(auth, officer, now)
                    results[token] = None
                except Unauthorized as refusal:
                    results[token] = refusal
        if device_digests:
            for token in (by_digest[d] for d in device_digests):
                results[token] = Unauthorized("invalid_token", BAD_DEVICE)
            for device in session.exec(_DEVICES_BY_TOKENS, params={"digests": device_digests}).all():
                try:
                    _device_actor(device)
                except Unauthorized as refusal:
                    results[by_digest[device.token_hash]] = refusal
                    continue
                results[by_digest[device.token_hash]] = None
                if _is_stale(device, now):
                    seen.append(device.id)  # type: ignore[arg-type]
    if seen:
        try:
            _touch_devices(ctx, seen)
        except Exception:  # "last seen" is a convenience; the answers above stand
            log.warning("could not record %d devices as seen", len(seen), exc_info=True)
    return results


def _touch_devices(ctx: AppContext, device_ids: list[int]) -> None:
    with ctx.unit_of_work() as uow:
        uow.session.exec(  # type: ignore[call-overload]
            update(tables.Device).where(col(tables.Device.id).in_(device_ids)).values(last_seen_at=uow.now)
        )
        uow.commit()


def touch_device(ctx: AppContext, device_id: int, printer_state: str | None = None) -> None:
    with ctx.unit_of_work() as uow:
        device = uow.session.get(tables.Device, device_id)
        if device is None:
            return
        device.last_seen_at = uow.now
        if printer_state is not None:
            device.printer_state = printer_state
        uow.commit()


# Any fixed number: the PostgreSQL advisory lock that makes the check-and-record of sign-in
# attempts one step, whichever worker takes them.
LOGIN_LOCK_KEY = 0x68646C6F67696E


def _begin_attempt(ctx: AppContext, username: str, address: str) -> None:
    """Refuse a sign-in while this username from this address (or the username, or the address,
    with looser limits) has failed too often lately; otherwise record the attempt as a failure
    before the password is checked (a success removes it), so that many attempts sent at once are
    counted exactly."""
    with ctx.unit_of_work() as uow:
        if ctx.engine.dialect.name == "postgresql":
            uow.session.exec(text("SELECT pg_advisory_xact_lock(:key)"), params={"key": LOGIN_LOCK_KEY})  # type: ignore[call-overload]
        failure = tables.LoginFailure
        recent = uow.session.exec(
            select(failure.username, failure.address, failure.at).where(
                col(failure.at) > uow.now - limits.LOGIN_FAILURE_WINDOW,
                (failure.username == username) | (failure.address == address),
            )
        ).all()
        pair = [at for u, a, at in recent if u == username and a == address]
        by_username = [at for u, _a, at in recent if u == username]
        by_address = [at for _u, a, at in recent if a == address]
        wait = max(
            limits.login_wait(pair, limits.FREE_FAILURES_PER_PAIR, uow.now),
            limits.login_wait(by_username, limits.FREE_FAILURES_PER_USERNAME, uow.now),
            limits.login_wait(by_address, limits.FREE_FAILURES_PER_ADDRESS, uow.now),
        )
        if wait > 0:
            raise TooManyRequests(
                "too_many_sign_in_attempts",
                f"Đăng nhập sai quá nhiều lần. Xin vui lòng thử lại sau {limits.wait_text(wait)}.",
                wait,
            )
        uow.session.add(failure(username=username, address=address, at=uow.now))
        uow.commit()


def _forgive(ctx: AppContext, username: str, address: str, new_hash: str | None) -> None:
    """The password was right: this username's failures from this address are forgiven (whatever
    happens to the rest of the sign-in, e.g. a counter that no longer exists). A hash made with an
    older release's weaker argon2 settings is replaced (computed before, outside the write lock)."""
    with ctx.unit_of_work() as uow:
        failure = tables.LoginFailure
        uow.session.exec(delete(failure).where(col(failure.username) == username, col(failure.address) == address))  # type: ignore[call-overload]
        if new_hash is not None:
            officer = tables.Officer
            uow.session.exec(update(officer).where(col(officer.username) == username).values(password_hash=new_hash))  # type: ignore[call-overload]
        uow.commit()


def login(ctx: AppContext, body: schemas.LoginIn, address: str = "") -> schemas.LoginOut:
    username = body.username.strip().lower()[:64]
    address = address[:64]
    _begin_attempt(ctx, username, address)
    with ctx.read() as session:
        officer = session.exec(select(tables.Officer).where(tables.Officer.username == username)).first()
    if officer is None:
        verify_password(DUMMY_HASH, body.password)
        raise Unauthorized("bad_credentials", BAD_LOGIN)
    if not verify_password(officer.password_hash, body.password) or not officer.active:
        raise Unauthorized("bad_credentials", BAD_LOGIN)
    _forgive(ctx, username, address, hash_password(body.password) if needs_rehash(officer.password_hash) else None)
    token = new_token(OFFICER_TOKEN_PREFIX)
    now = ctx.clock.now()
    expires = now + timedelta(hours=ctx.settings.token_ttl_hours)
    with ctx.unit_of_work() as uow:
        auth = tables.AuthSession(officer_id=officer.id, token_hash=token_hash(token), created_at=now, expires_at=expires)  # type: ignore[arg-type]
        uow.session.add(auth)
        uow.session.flush()
        actor = Actor("officer", officer.id, officer.centre_id, officer.role, officer.full_name, None, auth.id)  # type: ignore[arg-type]
        if body.counter_id is not None:
            _sign_in_counter(uow, actor, auth, body.counter_id)
        uow.commit()
    return schemas.LoginOut(token=token, expires_at=expires, officer=officer_out(officer), counter_id=auth.counter_id)


def logout(ctx: AppContext, actor: Actor) -> None:
    """Revoke the token, always. The counter closes, or, if a citizen is still being served
    there, pauses so that nobody calls the next number in the officer's name."""
    with ctx.unit_of_work() as uow:
        auth = uow.session.get(tables.AuthSession, actor.session_id)
        if auth is None:
            raise Unauthorized("invalid_token", BAD_TOKEN)
        counter_row = uow.session.get(tables.Counter, auth.counter_id) if auth.counter_id is not None else None
        if counter_row is not None:
            uow.lock_centre(counter_row.centre_id)
            uow.reread(counter_row)
            leave_counter(uow, actor.id, counter_row)
        auth.counter_id = None
        auth.revoked_at = uow.now
        uow.commit()


def leave_counter(uow: UnitOfWork, officer_id: int, counter_row: tables.Counter) -> None:
    """The officer is gone from the counter (the centre is locked): close it, or pause it while a
    ticket is still at the desk, so the next officer can finish that ticket."""
    if counter_row.officer_id != officer_id:
        return  # already taken over by someone else
    counter = views.counter_engine(counter_row, [])
    if counter.current_ticket_id is None:
        event = engine.close_counter(counter, uow.now)
    elif counter.state == CounterState.OPEN:
        event = engine.pause(counter, uow.now)
    else:
        return
    write_back(counter, counter_row, skip=("field_ids",))
    uow.record(event, None)


def _sign_in_counter(uow: UnitOfWork, actor: Actor, auth: tables.AuthSession, counter_id: int) -> tables.Counter:
    counter_row = uow.session.get(tables.Counter, counter_id)
    if counter_row is None or (actor.centre_id is not None and counter_row.centre_id != actor.centre_id):
        raise NotFound("counter_not_found", "Không tìm thấy quầy.")
    uow.lock_centre(counter_row.centre_id)
    uow.reread(counter_row)
    if auth.counter_id is not None and auth.counter_id != counter_id:
        raise Conflict("signed_in_elsewhere", "Bạn đang đăng nhập ở một quầy khác. Hãy rời quầy đó trước.")
    counter = views.counter_engine(counter_row, [])
    event = engine.open_counter(counter, actor.id, uow.now)
    write_back(counter, counter_row, skip=("field_ids",))
    # Whoever held this counter before (a forgotten sign-in) loses it.
    for other in uow.session.exec(
        select(tables.AuthSession).where(tables.AuthSession.counter_id == counter_id, tables.AuthSession.id != auth.id)
    ).all():
        other.counter_id = None
    auth.counter_id = counter_id
    uow.record(event, actor)
    return counter_row


def _sign_out_counter(uow: UnitOfWork, actor: Actor, auth: tables.AuthSession) -> None:
    counter_row = uow.session.get(tables.Counter, auth.counter_id)
    auth.counter_id = None
    if counter_row is None or counter_row.officer_id != actor.id:
        return
    uow.lock_centre(counter_row.centre_id)
    uow.reread(counter_row)
    counter = views.counter_engine(counter_row, [])
    event = engine.close_counter(counter, uow.now)
    write_back(counter, counter_row, skip=("field_ids",))
    uow.record(event, actor)


def sign_in_counter(ctx: AppContext, actor: Actor, counter_id: int, idempotency_key: str | None) -> schemas.MeOut:
    """Take a counter: it opens with this officer's name and only this token may act for it."""
    _require_officer(actor)

    def run(uow: UnitOfWork) -> schemas.MeOut:
        auth = uow.session.get(tables.AuthSession, actor.session_id)
        assert auth is not None
        _sign_in_counter(uow, actor, auth, counter_id)
        return me(actor, counter_id)

    return run_command(ctx, actor, idempotency_key, f"sign-in {counter_id}", schemas.MeOut, run)


def sign_out_counter(ctx: AppContext, actor: Actor, idempotency_key: str | None) -> schemas.MeOut:
    _require_officer(actor)
    if actor.counter_id is None:
        raise Conflict("not_at_counter", "Bạn chưa đăng nhập tại quầy nào.")

    def run(uow: UnitOfWork) -> schemas.MeOut:
        auth = uow.session.get(tables.AuthSession, actor.session_id)
        assert auth is not None
        _sign_out_counter(uow, actor, auth)
        return me(actor, None)

    return run_command(ctx, actor, idempotency_key, "sign-out", schemas.MeOut, run)


def me(actor: Actor, counter_id: int | None) -> schemas.MeOut:
    return schemas.MeOut(
        kind=actor.kind,
        id=actor.id,
        centre_id=actor.centre_id,
        role=actor.role,
        name=actor.name,
        counter_id=counter_id,
    )


def _require_officer(actor: Actor) -> None:
    if actor.kind != "officer":
        raise Forbidden("officer_required", "Thao tác này cần cán bộ đăng nhập.")


def create_officer(
    session: Session, centre_id: int | None, username: str, full_name: str, role: str, password: str, phone: str = ""
) -> tables.Officer:
    officer = tables.Officer(
        centre_id=centre_id,
        username=username.strip().lower(),
        full_name=full_name,
        role=role,
        password_hash=hash_password(password),
        phone=phone,
    )
    session.add(officer)
    return officer
