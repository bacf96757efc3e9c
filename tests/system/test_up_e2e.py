"""`lotse up` as a new user runs it: the README's run command (`.venv/bin/lotse up`) as a
child process in an empty directory, with nothing but `--data-dir`, `--port` and the dev
server's ports set (never the defaults 7233/8233/8000, which a developer's own `lotse up` may
hold).

The first test takes one case through the HTTP API from intake to active as the demo
counsellor, lets the demo language school acknowledge and complete its referral, stops
everything with SIGTERM (no dev server may outlive it), starts again on the same data dir and
finds the case active with the other referral still open, its review clock and every Temporal
timer unchanged, the open referral's workflow still answering, and the demo data not seeded
twice. The second shows the demo cases a fresh start plays in the background (every stage, a
review overdue, a referral late, one declined, one completed, the evaluation not empty) and
that a second start adds none. The others show that a start that cannot work ends within
seconds with a non-zero exit code and a line saying what to do: only that line for a taken port
or a data dir that cannot be created; for a dev server that exits, that line (naming its log)
and the log's last lines.
"""

import asyncio
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus

from api.casework import case_id_for
from tests.api_harness import eventually
from tests.process_harness import (
    ApiUser,
    LotseProcess,
    free_port,
    gone,
    processes_mentioning,
    readme_run_command,
    user_environment,
    wait_healthy,
)
from tests.samples import ASSESSMENT, INTAKE, draft_body
from worker.demo import PENDING
from worker.demo_cases import DEMO_CASES

HEALTHY_WITHIN = 60.0  # the promise for a fresh start, seeding included
# The demo cases are played in the background after the start (15 to 30 seconds); their two
# short deadlines pass 20 seconds after their signing.
DEMO_PLAYED_WITHIN = 120.0
DEMO_IDS = {case.key: case_id_for(case.counsellor, f"demo-{case.key}") for case in DEMO_CASES}


class Ports:
    """Free ports of one test's `lotse up`: the API, the dev server's frontend and UI."""

    def __init__(self) -> None:
        self.api = free_port()
        self.temporal = free_port()
        self.ui = free_port()

    def env(self, *, demo_cases: bool = True) -> dict[str, str]:
        return user_environment(
            LOTSE_DEV_SERVER_PORT=str(self.temporal),
            LOTSE_DEV_SERVER_UI_PORT=str(self.ui),
            LOTSE_DEMO_CASES=str(demo_cases).lower(),
        )


@pytest.fixture
def launched() -> Iterator[list[LotseProcess]]:
    """The `lotse` processes a test starts; whatever a failed test left running is killed."""
    processes: list[LotseProcess] = []
    yield processes
    for process in processes:
        process.cleanup()


def start_up(
    launched: list[LotseProcess],
    workdir: Path,
    data_dir: Path,
    ports: Ports,
    name: str,
    *,
    demo_cases: bool = True,
) -> LotseProcess:
    command = [*readme_run_command(), "--data-dir", str(data_dir), "--port", str(ports.api)]
    process = LotseProcess(command, ports.env(demo_cases=demo_cases), workdir, name)
    launched.append(process)
    return process


async def stop_and_check_nothing_is_left(process: LotseProcess, data_dir: Path) -> None:
    """SIGTERM ends `lotse up` with exit code 0 and takes the dev server with it. Helpers that
    end when their parent does (the rules' forkserver and multiprocessing's resource tracker
    read EOF on a pipe from it) get a moment to notice."""
    assert await process.terminate(timeout=30) == 0, process.output()
    for child in process.descendants:
        for _ in range(100):
            if gone(child.pid):
                break
            await asyncio.sleep(0.1)
        assert gone(child.pid), f"left behind: {child.pid} {child.cmdline()}"
    # Nothing else runs on this data dir either (a server that escaped the bookkeeping).
    assert processes_mentioning(str(data_dir)) == []


# --- the case through the API ----------------------------------------------------------------


async def drive_case_to_active(api: ApiUser) -> str:
    """Open a case as berater1 and take it through intake, assessment, the agreement and both
    signatures; the partner proposals become measures."""
    body = {"client": {"given_name": "Amina", "family_name": "Karimi"}}
    opened = await api.ok("berater1", "POST", "/cases", json=body)
    case_id: str = opened["id"]
    assert opened["stage"] == "intake"
    result = await api.ok("berater1", "POST", f"/cases/{case_id}/intake", json=INTAKE)
    assert result["stage"] == "assessment"
    result = await api.ok("berater1", "POST", f"/cases/{case_id}/assessment", json=ASSESSMENT)
    assert result["stage"] == "drafting"

    state = await api.ok("berater1", "GET", f"/cases/{case_id}")
    assert {route["need"] for route in state["routes"]} >= {"language", "employment"}
    draft = draft_body(state["routes"])
    await api.ok("berater1", "POST", f"/cases/{case_id}/agreement", json=draft)
    requested = await api.ok("berater1", "POST", f"/cases/{case_id}/signature-request")
    assert requested["stage"] == "awaiting_signature"
    for party in ("client", "counsellor"):
        signature = {"party": party, "document_hash": requested["document_hash"]}
        result = await api.ok("berater1", "POST", f"/cases/{case_id}/signatures", json=signature)
    assert result["stage"] == "active"
    return case_id


async def inbox_item(api: ApiUser, partner: str, case_id: str) -> dict[str, Any]:
    """The one referral of `case_id` in the partner's inbox (once the read model has it)."""

    async def find() -> dict[str, Any] | None:
        page = await api.ok(partner, "GET", "/referrals")
        mine = [item for item in page["items"] if item["id"].startswith(f"{case_id}-ref-")]
        assert len(mine) <= 1, mine
        return mine[0] if mine else None

    item: dict[str, Any] = await eventually(find)
    return item


async def case_with_referral_status(
    api: ApiUser, case_id: str, referral_id: str, status: str
) -> dict[str, Any]:
    """The case state once it knows the referral's new status (a signal from the child)."""

    async def probe() -> dict[str, Any] | None:
        state: dict[str, Any] = await api.ok("berater1", "GET", f"/cases/{case_id}")
        statuses = {referral["id"]: referral["status"] for referral in state["referrals"]}
        return state if statuses.get(referral_id) == status else None

    state: dict[str, Any] = await eventually(probe)
    return state


def referral_statuses(state: dict[str, Any]) -> dict[str, str]:
    return {referral["id"]: referral["status"] for referral in state["referrals"]}


# --- Temporal's view: timers -----------------------------------------------------------------


async def open_timers(client: Client, workflow_id: str) -> dict[str, datetime]:
    """Timer id -> when it fires, for each timer of the workflow's current run that has
    neither fired nor been cancelled: the clocks Temporal keeps for it."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    pending: dict[str, datetime] = {}
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_TIMER_STARTED:
            started = event.timer_started_event_attributes
            fires = event.event_time.ToDatetime() + started.start_to_fire_timeout.ToTimedelta()
            pending[started.timer_id] = fires
        elif event.event_type == EventType.EVENT_TYPE_TIMER_FIRED:
            pending.pop(event.timer_fired_event_attributes.timer_id, None)
        elif event.event_type == EventType.EVENT_TYPE_TIMER_CANCELED:
            pending.pop(event.timer_canceled_event_attributes.timer_id, None)
    return pending


def assert_same_deadlines(now: dict[str, datetime], before: dict[str, datetime]) -> None:
    """As many timers pending as before, each due when one was before. Compared by deadline,
    not id: the case re-creates its one timer (new id) from the absolute deadline in its state
    whenever it wakes up, and the new timer starts a few milliseconds later for a little less."""
    assert len(now) == len(before), (now, before)
    for due, due_before in zip(sorted(now.values()), sorted(before.values()), strict=True):
        assert abs(due - due_before) < timedelta(seconds=1), (now, before)


async def running(client: Client, workflow_id: str) -> bool:
    description = await client.get_workflow_handle(workflow_id).describe()
    return description.status is WorkflowExecutionStatus.RUNNING


# --- the tests -------------------------------------------------------------------------------


async def test_lotse_up_runs_a_case_to_active_and_resumes_it_after_sigterm(
    tmp_path: Path, launched: list[LotseProcess]
) -> None:
    data_dir = tmp_path / "lotse-data"
    ports = Ports()
    base_url = f"http://127.0.0.1:{ports.api}"

    # --- first start: a fresh machine, an empty data dir ---
    # Without the demo cases (they have a test of their own): a stop while they play waits
    # for the routing they set off, and this test's clocks and stops are about its own case.
    first = start_up(launched, tmp_path, data_dir, ports, "first", demo_cases=False)
    took = await wait_healthy(base_url, first, timeout=HEALTHY_WITHIN)
    assert took < HEALTHY_WITHIN
    servers = first.record_descendants()
    assert any("start-dev" in server.cmdline() for server in servers), servers

    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        api = ApiUser(http)
        users_before = await api.ok("admin", "GET", "/admin/users")
        assert {"berater1", "sprachkurs", "jobcenter"} <= {u["username"] for u in users_before}

        case_id = await drive_case_to_active(api)
        language = await inbox_item(api, "sprachkurs", case_id)
        employment = await inbox_item(api, "jobcenter", case_id)
        assert (language["need"], language["status"]) == ("language", "dispatched")
        assert (employment["need"], employment["status"]) == ("employment", "dispatched")

        answer = await api.ok("sprachkurs", "POST", f"/referrals/{language['id']}/acknowledge")
        assert answer["status"] == "acknowledged"
        outcome = {"result": "achieved", "note": "B1 bestanden"}
        answer = await api.ok(
            "sprachkurs", "POST", f"/referrals/{language['id']}/complete", json=outcome
        )
        assert answer["status"] == "completed"
        before = await case_with_referral_status(api, case_id, language["id"], "completed")
        assert before["stage"] == "active" and before["next_review_due"]
        assert referral_statuses(before)[employment["id"]] == "dispatched"
        open_before = await api.ok("koordination", "GET", "/supervision/open-referrals")
        assert employment["id"] in [item["id"] for item in open_before["items"]]

    temporal = await Client.connect(f"127.0.0.1:{ports.temporal}")
    case_timers = await open_timers(temporal, case_id)
    referral_timers = await open_timers(temporal, employment["id"])
    assert case_timers, "an active case waits for its review"
    assert referral_timers, "an open referral waits for the partner's answer (reminder)"
    assert not await running(temporal, language["id"])  # completed: its workflow ended

    await stop_and_check_nothing_is_left(first, data_dir)
    shown = first.stdout()
    assert "Demodaten angelegt" in shown
    assert f"{base_url}/" in shown and f"http://127.0.0.1:{ports.ui}" in shown
    assert "berater1" in shown and "demo" in shown
    # Without LOTSE_SMTP_URL it says, at start, that notifications are not mailed.
    assert "E-Mail:      aus (LOTSE_SMTP_URL nicht gesetzt)" in shown

    # --- second start on the same data dir and ports ---
    second = start_up(launched, tmp_path, data_dir, ports, "second", demo_cases=False)
    await wait_healthy(base_url, second, timeout=HEALTHY_WITHIN)
    second.record_descendants()

    temporal = await Client.connect(f"127.0.0.1:{ports.temporal}")
    assert await running(temporal, case_id) and await running(temporal, employment["id"])
    assert_same_deadlines(await open_timers(temporal, case_id), case_timers)
    assert_same_deadlines(await open_timers(temporal, employment["id"]), referral_timers)

    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        api = ApiUser(http)
        after = await api.ok("berater1", "GET", f"/cases/{case_id}")
        assert after["stage"] == "active"
        assert after["next_review_due"] == before["next_review_due"]
        assert referral_statuses(after) == referral_statuses(before)
        assert after["measures"] == before["measures"]
        # Not seeded again: the same accounts, no announcement.
        assert await api.ok("admin", "GET", "/admin/users") == users_before
        open_after = await api.ok("koordination", "GET", "/supervision/open-referrals")
        assert employment["id"] in [item["id"] for item in open_after["items"]]
        assert language["id"] not in [item["id"] for item in open_after["items"]]

        # The open referral's workflow survived: the Jobcenter can still answer it, and the
        # answer reaches the case.
        still_open = await inbox_item(api, "jobcenter", case_id)
        assert still_open["status"] == "dispatched"
        answer = await api.ok("jobcenter", "POST", f"/referrals/{employment['id']}/acknowledge")
        assert answer["status"] == "acknowledged"
        await case_with_referral_status(api, case_id, employment["id"], "acknowledged")

    await stop_and_check_nothing_is_left(second, data_dir)
    assert "Demodaten angelegt" not in second.stdout()
    assert "Lotse läuft" in second.stdout()


async def test_a_fresh_lotse_up_plays_demo_cases_through_the_workflows_and_only_once(
    tmp_path: Path, launched: list[LotseProcess]
) -> None:
    data_dir = tmp_path / "lotse-data"
    ports = Ports()
    base_url = f"http://127.0.0.1:{ports.api}"
    first = start_up(launched, tmp_path, data_dir, ports, "first")
    took = await wait_healthy(base_url, first, timeout=HEALTHY_WITHIN)
    assert took < HEALTHY_WITHIN
    first.record_descendants()
    # Played after the server is ready, not before: the start announces them later.
    await eventually(lambda: "Demofälle angelegt" in first.stdout(), timeout=DEMO_PLAYED_WITHIN)
    assert not (data_dir / PENDING).exists()

    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        api = ApiUser(http)
        listed = await demo_cases_listed(api)
        assert set(listed) == set(DEMO_IDS.values())
        stages = {key: listed[case_id]["stage"] for key, case_id in DEMO_IDS.items()}
        assert set(stages.values()) == {
            "intake",
            "assessment",
            "drafting",
            "awaiting_signature",
            "active",
            "closed",
        }

        # Partners at work: acknowledged, one completed with an outcome, one still open.
        working = await api.ok("berater1", "GET", f"/cases/{DEMO_IDS['partners-at-work']}")
        statuses = sorted(referral_statuses(working).values())
        assert statuses == ["acknowledged", "acknowledged", "completed", "dispatched"]
        assert any(
            m["outcome"] and m["outcome"]["result"] == "achieved" for m in working["measures"]
        )

        # The review falls due at the signing and is overdue 20 seconds later: the
        # coordination's list shows it, and the counsellor's list flags it.
        overdue_id = DEMO_IDS["review-overdue"]

        async def overdue_listed() -> bool:
            page = await api.ok("koordination", "GET", "/supervision/overdue-reviews")
            return overdue_id in [item["case_id"] for item in page["items"]]

        await eventually(overdue_listed, timeout=60)
        assert (await demo_cases_listed(api))[overdue_id]["review_overdue"] is True

        # The unanswered referral passes its deadline and reaches the coordination's list.
        late_case = DEMO_IDS["late-referral"]

        async def late_listed() -> dict[str, Any] | None:
            page = await api.ok("koordination", "GET", "/supervision/late-referrals")
            mine = [item for item in page["items"] if item["case_id"] == late_case]
            return mine[0] if mine else None

        late = await eventually(late_listed, timeout=60)
        assert late["status"] == "dispatched" and late["lateness"] in {"unanswered", "escalated"}

        # The declined referral: the case tried to hand it on and, with no other language
        # school in Musterstadt, gave its counsellor a task.
        declined = await api.ok("berater2", "GET", f"/cases/{DEMO_IDS['declined-referral']}")
        assert "declined" in referral_statuses(declined).values()
        open_tasks = {task["kind"] for task in declined["tasks"] if not task["done"]}
        assert "referral_unassigned" in open_tasks

        closed = await api.ok("berater1", "GET", f"/cases/{DEMO_IDS['closed']}")
        assert closed["closure"]["reason"] == "goals_achieved"

        # The evaluation counts the five agreements in force (enough to be published).
        report = await api.ok("koordination", "GET", "/reports/evaluation")
        assert report["agreements"]["concluded"] == 5
        before = await demo_cases_listed(api)

    await stop_and_check_nothing_is_left(first, data_dir)

    # --- a second start on the same data dir adds nothing ---
    second = start_up(launched, tmp_path, data_dir, ports, "second")
    await wait_healthy(base_url, second, timeout=HEALTHY_WITHIN)
    second.record_descendants()
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        api = ApiUser(http)
        after = await demo_cases_listed(api)
        assert set(after) == set(before)
        assert {i: c["stage"] for i, c in after.items()} == {
            i: c["stage"] for i, c in before.items()
        }
    await stop_and_check_nothing_is_left(second, data_dir)
    assert "Demofälle" not in second.stdout() and "Demodaten" not in second.stdout()


async def demo_cases_listed(api: ApiUser) -> dict[str, dict[str, Any]]:
    """Every case in both demo counsellors' lists, by id."""
    found: dict[str, dict[str, Any]] = {}
    for counsellor in ("berater1", "berater2"):
        page = await api.ok(counsellor, "GET", "/cases")
        found.update({item["id"]: item for item in page["items"]})
    return found


async def test_lotse_up_starts_again_at_once_after_serving_requests(
    tmp_path: Path, launched: list[LotseProcess]
) -> None:
    """Connections still open when `lotse up` stops are closed by the server, so they wait in
    TIME_WAIT on the API's port for a minute; a start right after must not take them for a
    running Lotse. Among the requests served: a dry run and an assessment whose only need no
    rule routes, which once ended every process of `lotse up`."""
    data_dir = tmp_path / "lotse-data"
    ports = Ports()
    base_url = f"http://127.0.0.1:{ports.api}"
    # Without the demo cases: the case list must be the same after the restart.
    first = start_up(launched, tmp_path, data_dir, ports, "first", demo_cases=False)
    await wait_healthy(base_url, first, timeout=HEALTHY_WITHIN)
    first.record_descendants()
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        api = ApiUser(http)
        assert (await api.ok("berater1", "GET", "/me"))["username"] == "berater1"
        await only_unroutable_needs_are_answered(api)
        cases = await settled_case_list(api)
        assert (await http.get("/healthz")).status_code == 200
        # The client keeps its connection open: the server closes it on the way out.
        await stop_and_check_nothing_is_left(first, data_dir)
    assert _time_wait_on(ports.api), "the test must leave connections in TIME_WAIT"

    second = start_up(launched, tmp_path, data_dir, ports, "second", demo_cases=False)
    await wait_healthy(base_url, second, timeout=HEALTHY_WITHIN)
    second.record_descendants()
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        assert await ApiUser(http).ok("berater1", "GET", "/cases") == cases
    await stop_and_check_nothing_is_left(second, data_dir)
    assert "belegt" not in second.stderr()


# Issue 10's first finding: every need of a request unroutable (the only child is seven, the
# need is childcare) took the API, the worker and `lotse up` down with it.
SCHOOL_CHILD = INTAKE | {"children": [{"birth_date": "2019-01-01", "has_childcare": False}]}
CHILDCARE_ONLY = {"needs": [{"kind": "childcare", "priority": 1}]}


async def only_unroutable_needs_are_answered(api: ApiUser) -> None:
    """The dry run and a case's assessment with nothing but an unroutable need both answer,
    and afterwards the API, the worker and other cases work."""
    request = {
        "profile": SCHOOL_CHILD,
        "needs": CHILDCARE_ONLY["needs"],
        "today": date.today().isoformat(),
        "municipality": "musterstadt",
    }
    explained = await api.ok("berater1", "POST", "/rules/explain", json=request)
    assert explained["routes"] == [] and [u["need"] for u in explained["unrouted"]] == ["childcare"]

    body = {"client": {"given_name": "Amal", "family_name": "Haddad"}}
    case_id = (await api.ok("berater1", "POST", "/cases", json=body))["id"]
    await api.ok("berater1", "POST", f"/cases/{case_id}/intake", json=SCHOOL_CHILD)
    assessed = await api.ok("berater1", "POST", f"/cases/{case_id}/assessment", json=CHILDCARE_ONLY)
    assert assessed["stage"] == "drafting"
    state = await api.ok("berater1", "GET", f"/cases/{case_id}")
    assert state["routes"] == [] and [u["need"] for u in state["unrouted"]] == ["childcare"]

    other = (await api.ok("berater1", "POST", "/cases", json=body))["id"]
    result = await api.ok("berater1", "POST", f"/cases/{other}/intake", json=INTAKE)
    assert result["stage"] == "assessment"
    again = await api.ok("berater1", "POST", "/rules/explain", json=request)
    assert again["unrouted"] == explained["unrouted"]


async def settled_case_list(api: ApiUser, timeout: float = 30.0) -> dict[str, Any]:
    """berater1's case list once the read model has caught up with every listed case (the list
    is a projection and may trail the update that answered a moment ago)."""
    give_up = asyncio.get_running_loop().time() + timeout
    previous: dict[str, Any] | None = None
    while True:
        page = await api.ok("berater1", "GET", "/cases")
        stages = [
            (await api.ok("berater1", "GET", f"/cases/{item['id']}"))["stage"]
            for item in page["items"]
        ]
        if [item["stage"] for item in page["items"]] == stages and page == previous:
            return page
        previous = page
        assert asyncio.get_running_loop().time() < give_up, (page, stages)
        await asyncio.sleep(0.2)


def _time_wait_on(port: int) -> bool:
    """Whether a connection whose local end is 127.0.0.1:`port` is in TIME_WAIT."""
    return any(
        connection.status == psutil.CONN_TIME_WAIT and connection.laddr.port == port
        for connection in psutil.net_connections(kind="tcp4")
    )


async def refused_start(
    launched: list[LotseProcess], tmp_path: Path, data_dir: Path, ports: Ports
) -> str:
    """Run `lotse up` that must not start: it exits non-zero within seconds, leaves no process
    behind, and its stderr (returned) is one line."""
    process = start_up(launched, tmp_path, data_dir, ports, "refused")
    code = await process.wait(timeout=30)
    assert code != 0, process.output()
    assert processes_mentioning(str(data_dir)) == []
    lines = process.stderr().strip().splitlines()
    assert len(lines) == 1, process.output()
    return lines[0]


async def test_lotse_up_with_the_api_port_taken_says_to_choose_another_port(
    tmp_path: Path, launched: list[LotseProcess]
) -> None:
    ports = Ports()
    with _listening(ports.api):
        line = await refused_start(launched, tmp_path, tmp_path / "data", ports)
    assert f"Port {ports.api}" in line and "belegt" in line and "--port" in line


async def test_lotse_up_with_the_dev_server_port_taken_names_the_setting_to_change(
    tmp_path: Path, launched: list[LotseProcess]
) -> None:
    ports = Ports()
    with _listening(ports.temporal):
        line = await refused_start(launched, tmp_path, tmp_path / "data", ports)
    assert f"Port {ports.temporal}" in line and "belegt" in line
    assert "LOTSE_DEV_SERVER_PORT" in line


async def test_lotse_up_with_the_temporal_ui_port_taken_names_the_setting_to_change(
    tmp_path: Path, launched: list[LotseProcess]
) -> None:
    ports = Ports()
    with _listening(ports.ui):
        line = await refused_start(launched, tmp_path, tmp_path / "data", ports)
    assert f"Port {ports.ui}" in line and "LOTSE_DEV_SERVER_UI_PORT" in line


async def test_lotse_up_with_a_data_dir_that_cannot_be_created_says_to_choose_another(
    tmp_path: Path, launched: list[LotseProcess]
) -> None:
    # Tests run as root, where a read-only mode stops no write: a path below a regular file
    # cannot be created by anyone.
    (tmp_path / "afile").write_text("not a directory")
    data_dir = tmp_path / "afile" / "sub"
    line = await refused_start(launched, tmp_path, data_dir, Ports())
    assert str(data_dir) in line and "--data-dir" in line


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only directory")
async def test_lotse_up_with_a_read_only_data_dir_says_to_choose_another(
    tmp_path: Path, launched: list[LotseProcess]
) -> None:
    data_dir = tmp_path / "read-only"
    data_dir.mkdir(mode=0o500)
    try:
        line = await refused_start(launched, tmp_path, data_dir, Ports())
    finally:
        data_dir.chmod(0o700)
    assert "nicht beschreibbar" in line and "--data-dir" in line


async def test_lotse_up_whose_dev_server_exits_names_its_log(
    tmp_path: Path, launched: list[LotseProcess]
) -> None:
    """A dev server that does not come up (here: its SQLite file is not a database) ends
    `lotse up` with a first line that says so and where its log is, then the log's tail."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "temporal.sqlite").write_bytes(b"this is not a database " * 200)
    process = start_up(launched, tmp_path, data_dir, Ports(), "broken")
    assert await process.wait(timeout=40) != 0, process.output()
    assert processes_mentioning(str(data_dir)) == []
    first_line, *tail = process.stderr().strip().splitlines()
    assert "Temporal-Dev-Server" in first_line and "temporal.log" in first_line, first_line
    assert "Traceback" not in process.stderr()
    assert any("database" in line for line in tail), process.output()


@contextmanager
def _listening(port: int) -> Iterator[socket.socket]:
    """Something else listening on 127.0.0.1:`port` for the duration of a `with` block."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        yield squatter
