"""Property-based fuzzing of the whole HTTP API with schemathesis, against a real server.

Every operation of /openapi.json (the document the server serves) is sent generated requests:
valid ones, sent as every actor a real centre has (its administrator, an officer signed in at a
counter, the kiosk, the waiting-room display, a counter's panel and rating tablet, the province
administrator, and nobody at all), and deliberately invalid ones, sent as one of them in turn.
Whoever sends it, the answer must pass every check schemathesis has: no server error; one of the
operation's documented status codes, its content type and its body schema, refusals included;
an invalid request refused with a 4xx, a valid one not refused as malformed (400, 413, 415...);
a method the address does not have refused with 405 and an exact Allow header; a request without
credentials refused where the schema asks for them. Only the response-time check is left out
(it is off unless given a limit; no timing here), and the answers a valid request may get are
widened narrowly in _config, with the reason. The checks that follow a resource across requests
(use after free, object-level authorization) need OpenAPI links, which this API has not:
tests/test_centre_scoping.py probes every route across centres instead.

Deterministic (derandomized, bounded examples, the same requests every run): about 60 operations
on SQLite, then a smaller pass on PostgreSQL. For a longer randomized session on a developer's
machine (it found the bugs fixed with this test):

    HANGDOI_FUZZ_EXAMPLES=300 HANGDOI_FUZZ_RANDOM=1 .venv/bin/python -m pytest tests/test_api_fuzz.py -x -q
"""

from __future__ import annotations

import itertools
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from server.app import create_app
from server.config import Settings
from tests.conftest import CHUNG_THUC, HO_TICH, NGUOI_CAO_TUOI, PROVINCE_ADMIN, Live

EXAMPLES = int(os.environ.get("HANGDOI_FUZZ_EXAMPLES", "20"))
RANDOM = os.environ.get("HANGDOI_FUZZ_RANDOM") == "1"


def _app_schema() -> dict[str, Any]:
    """The document the server serves at /openapi.json (test_the_fuzzed_schema_is_the_served_one)."""
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(Settings(data_dir=Path(tmp), database_url=f"sqlite:///{tmp}/schema.sqlite3"))
        try:
            return app.openapi()
        finally:
            app.state.ctx.engine.dispose()


def _config(examples: int) -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "generation": {
                "mode": "all",  # valid requests, and invalid ones that must get a 4xx
                "max-examples": examples,
                "deterministic": not RANDOM,
                "database": "none",
                # The actors' tokens are sent by the test; generated Authorization headers would
                # only replace them.
                "with-security-parameters": False,
            },
            # Stateful sequences follow OpenAPI links, which this API does not declare.
            "phases": {"stateful": {"enabled": False}},
            "checks": {
                # A request the schema allows may still be refused for what it means, as documented:
                # 422 for a closing hour before the opening one, an unknown time zone, a number range
                # that overlaps another field's; 429 for sign-in attempts after repeated failures.
                "positive_data_acceptance": {"expected-statuses": ["2xx", "401", "403", "404", "409", "422", "429"]},
            },
        }
    )


# Values that name something in the demo centre. Generated ids almost never do, so most valid
# requests would only ever meet "not found"; a positive case gets some of its ids and dates
# replaced by these, so the fuzzing reaches the code behind the lookups too.
REAL: dict[str, tuple[Any, ...]] = {
    "field_id": (HO_TICH, CHUNG_THUC, 3),
    "counter_id": (1, 2),
    "ticket_id": (1, 2, 3),
    "item_id": (1, 2, 3),
    "centre_id": (1,),
    "priority_group_id": (NGUOI_CAO_TUOI,),
    "date_from": ("2026-11-23", "2026-11-01"),
    "date_to": ("2026-11-23", "2026-11-30"),
    "table": ("tong-hop", "linh-vuc", "quay", "can-bo", "gio", "hai-long"),
    "code": (),  # the issued tickets' codes, known once the server runs (the `actors` fixture)
}


def flatmap_case(context: schemathesis.HookContext, case: schemathesis.Case) -> st.SearchStrategy[schemathesis.Case]:
    """A schemathesis hook: a valid case, with some of its ids (or dates) made real ones."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return st.just(case)
    # The reports' dates are optional in the schema, but a report needs both.
    for parameter in case.operation.query:
        if parameter.name.startswith("date_"):
            case.query.setdefault(parameter.name, "")
    slots = [
        (container, name)
        for container in (case.path_parameters, case.query, case.body)
        if isinstance(container, dict)
        for name, value in container.items()
        if REAL.get(name) and type(value) is type(REAL[name][0])
    ]
    if not slots:
        return st.just(case)

    def choose(picks: list[int]) -> schemathesis.Case:
        for (container, name), pick in zip(slots, picks, strict=True):
            if pick:  # 0 keeps the generated value
                container[name] = REAL[name][(pick - 1) % len(REAL[name])]
        return case

    return st.lists(st.integers(0, 3), min_size=len(slots), max_size=len(slots)).map(choose)


APP_SCHEMA = _app_schema()
sqlite_schema = schemathesis.openapi.from_dict(APP_SCHEMA, config=_config(EXAMPLES))
postgres_schema = schemathesis.openapi.from_dict(APP_SCHEMA, config=_config(max(EXAMPLES // 4, 3)))
for _schema in (sqlite_schema, postgres_schema):
    _schema.hook(flatmap_case)


class Actors:
    """Who a real centre has sending requests, on a server with work in progress: waiting tickets
    in two fields, one of them called at counter 1, whose officer is signed in there."""

    def __init__(self, live: Live) -> None:
        self.live = live
        REAL["code"] = tuple(live.issue(field_id)["code"] for field_id in (HO_TICH, HO_TICH, CHUNG_THUC))
        officer = live.login("lan.nt", counter_id=1)
        called = live.client(officer).post("/counters/1/call-next")
        assert called.status_code == 200, called.text
        self.tokens: dict[str, str | None] = {
            "centre admin": live.login("quantri"),
            "officer at counter 1": officer,
            "kiosk": live.devices["kiosk"],
            "display": live.devices["display"],
            "counter 1's panel": live.devices["counter_panel_1"],
            "province admin": live.login(PROVINCE_ADMIN[0], password=PROVINCE_ADMIN[1]),
            "anonymous": None,
        }
        self._turns = itertools.count()
        self.http = requests.Session()

    def send(self, case: schemathesis.Case) -> None:
        """A valid case goes out as every actor: each takes another path through the server. An
        invalid one is refused by validation whoever sends it, so it goes out as one actor, each
        in turn."""
        senders = list(self.tokens.items())
        if case.meta is not None and case.meta.generation.mode.is_negative:
            senders = [senders[next(self._turns) % len(senders)]]
        for actor, token in senders:
            headers = {"Authorization": f"Bearer {token}"} if token else None
            try:
                case.call_and_validate(base_url=self.live.base_url, session=self.http, headers=headers, timeout=30)
            except Exception as failure:
                failure.add_note(f"sent as: {actor}")
                raise


@pytest.fixture
def actors(live: Live) -> Iterator[Actors]:
    everyone = Actors(live)
    yield everyone
    everyone.http.close()


# One server per operation, shared by its examples: what one example changes, the next one sees,
# as on a real server.
SHARED_SERVER = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])


@sqlite_schema.parametrize()
@SHARED_SERVER
def test_fuzz_sqlite(case: schemathesis.Case, actors: Actors) -> None:
    actors.send(case)


# A smaller pass on PostgreSQL, where what differs is the database: its types, NUL in text, locks.
@pytest.mark.postgresql
@postgres_schema.parametrize()
@SHARED_SERVER
def test_fuzz_postgresql(case: schemathesis.Case, actors: Actors) -> None:
    actors.send(case)


def test_the_fuzzed_schema_is_the_served_one(live: Live) -> None:
    served = live.client().get(f"{live.base_url}/openapi.json")
    assert served.status_code == 200
    assert served.json() == APP_SCHEMA
