"""The JSON API over real HTTP: the newcomer's walk from referral to closure, and what bad requests get."""
import threading


from tests.api_client import Client
from tests.helpers import case_row, open_tasks
from tests.sample_answers import answers, approval, assessment, referral




def only_task(client, case_id, role_filter="mine"):
    status, body = client.get(f"/tasks?case_id={case_id}&{role_filter}=true")
    assert status == 200, body
    assert len(body["items"]) == 1, body
    return body["items"][0]


def complete(client, task, data, expect=200):
    status, body = client.post(f"/tasks/{task['id']}/complete", {"data": data})
    assert status == expect, body
    return body


def test_referral_to_closure_through_the_api(anon):
    worker, supervisor = anon.login("worker1"), anon.login("supervisor1")
    status, mahallas = worker.get("/mahallas")
    assert status == 200 and len(mahallas["items"]) == 2
    status, case = worker.post("/cases", {
        "subject": {"kind": "household", "name": "Toʻxtayevlar oilasi", "members": [
            {"full_name": "Oʻgʻiloy Toʻxtayeva", "birth_date": "1984-02-29", "sex": "female", "relation": "head"},
            {"full_name": "Jasur Toʻxtayev", "birth_date": "2015-06-01", "sex": "male", "relation": "child"}]},
        "mahalla_id": mahallas["items"][0]["id"], "channel": "school", "summary": "The boy misses school."})
    assert status == 201, case
    cid = case["id"]
    assert case["status"] == "open" and case["stage"] == "identification"
    assert [m["relation"] for m in case["subject"]["members"]] == ["head", "child"]

    task = only_task(worker, cid)
    status, detail = worker.get(f"/tasks/{task['id']}")
    assert status == 200 and detail["form"]["id"] == "register_referral" and detail["case"]["id"] == cid
    complete(worker, task, referral())
    complete(worker, only_task(worker, cid), assessment())

    queued = only_task(supervisor, cid, "queue")
    assert queued["role"] == "supervisor" and queued["assignee"] is None
    status, claimed = supervisor.post(f"/tasks/{queued['id']}/claim")
    assert status == 200 and claimed["assignee"]["username"] == "supervisor1"
    complete(supervisor, queued, approval("approved"))

    complete(worker, only_task(worker, cid), answers("service_plan"))
    complete(supervisor, only_task(supervisor, cid, "queue"), approval("returned", "Add the school psychologist."))
    revision = only_task(worker, cid)
    status, detail = worker.get(f"/tasks/{revision['id']}")
    assert detail["form"]["id"] == "service_plan"
    assert detail["values"]["goals"] == answers("service_plan")["goals"]  # the plan comes back as it was
    complete(worker, revision, answers("service_plan", goals="Back to school; weekly psychologist sessions."))
    complete(supervisor, only_task(supervisor, cid, "queue"), approval("approved"))
    complete(worker, only_task(worker, cid), answers("service_delivery"))
    complete(worker, only_task(worker, cid), answers("monitoring_visit", outcome="close"))
    complete(worker, only_task(worker, cid), answers("closure_proposal"))
    result = complete(supervisor, only_task(supervisor, cid, "queue"), approval("approved"))
    assert result["case"]["status"] == "closed" and result["next_tasks"] == []

    status, case = worker.get(f"/cases/{cid}")
    assert status == 200 and case["status"] == "closed" and case["open_tasks"] == []
    steps = [(e["details"]["bpmn_id"], e["actor"]["username"]) for e in case["timeline"]
             if e["action"] == "task.completed"]
    assert steps == [("register_referral", "worker1"), ("home_visit_assessment", "worker1"),
                     ("recognition_of_need", "supervisor1"), ("draft_service_plan", "worker1"),
                     ("approve_service_plan", "supervisor1"), ("draft_service_plan", "worker1"),
                     ("approve_service_plan", "supervisor1"), ("record_service_delivery", "worker1"),
                     ("monitoring_visit", "worker1"), ("propose_closure", "worker1"),
                     ("approve_closure", "supervisor1")]
    assert all(e["at"] for e in case["timeline"])
    assert case["timeline"][-1]["action"] == "case.closed"
    status, found = worker.get("/cases?q=O'g'iloy")  # ASCII apostrophes find the ʻ spelling
    assert [c["id"] for c in found["items"]] == [cid]
    status, found = worker.get("/cases?q=Ўғилой")  # and so does Cyrillic
    assert [c["id"] for c in found["items"]] == [cid]


def test_two_completions_of_one_task_one_wins(engine, anon):
    worker = anon.login("worker1")
    status, case = worker.post("/cases", {"subject": {"kind": "person", "full_name": "Karim Yoqubov"},
                                          "mahalla_id": worker.get("/mahallas")[1]["items"][0]["id"],
                                          "channel": "self", "summary": "Needs help."})
    task = case["open_tasks"][0]
    results, barrier = [], threading.Barrier(2)

    def attempt():
        barrier.wait()
        results.append(worker.call("POST", f"/tasks/{task['id']}/complete", {"data": referral()}))

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(status for status, _ in results) == [200, 409]
    loser = next(body for status, body in results if status == 409)
    assert loser["error"] == "conflict" and "already completed" in loser["message"]
    assert [t.bpmn_id for t in open_tasks(engine, case["id"])] == ["home_visit_assessment"]  # advanced once
    status, again = worker.call("POST", f"/tasks/{task['id']}/complete", {"data": referral()})
    assert status == 409


def test_errors_are_json_with_the_right_status(anon):
    assert anon.get("/cases")[0] == 401
    status, body = anon.post("/auth/login", {"username": "worker1", "password": "wrong"})
    assert (status, body["error"]) == (401, "unauthenticated")
    worker, methodologist = anon.login("worker1"), anon.login("methodologist1")
    assert Client(anon.base_url, "forged").get("/cases")[0] == 401
    assert worker.get("/cases/987654")[0] == 404
    assert worker.get("/tasks/not-a-task")[0] == 404
    assert worker.get("/cases?limit=abc")[0] == 422
    assert worker.get("/tasks?mine=maybe")[0] == 422
    status, body = methodologist.post("/cases", {})
    assert (status, body["error"]) == (403, "forbidden")
    assert methodologist.get("/cases")[1]["items"] == []  # no case contents for methodologists
    status, body = worker.call("POST", "/cases", raw=b"{not json")
    assert status == 422 and "JSON" in body["message"]
    status, body = worker.call("POST", "/cases", raw=b"x" * (3 * 1024 * 1024))
    assert status == 413
    assert worker.call("DELETE", "/cases")[0] == 405


def test_bad_case_and_form_input_changes_nothing(engine, anon):
    worker = anon.login("worker1")
    mahalla = worker.get("/mahallas")[1]["items"][0]["id"]
    bad = [({"subject": {"kind": "person", "full_name": ""}, "mahalla_id": mahalla, "channel": "self",
             "summary": "x"}, ["subject"]),
           ({"subject": {"kind": "person", "full_name": "A", "birth_date": "2023-02-29"}, "mahalla_id": mahalla,
             "channel": "self", "summary": "x"}, ["subject"]),
           ({"subject": {"kind": "person", "full_name": "A"}, "mahalla_id": mahalla, "channel": "fax",
             "summary": "x"}, ["channel"]),
           ({"subject": {"kind": "person", "full_name": "A" * 201}, "mahalla_id": mahalla, "channel": "self",
             "summary": "x"}, ["subject"]),
           ({"subject": {"kind": "household", "members": []}, "mahalla_id": mahalla, "channel": "self",
             "summary": "x"}, ["subject"])]
    for payload, fields in bad:
        status, body = worker.post("/cases", payload)
        assert status == 422 and sorted(body["fields"]) == fields, body
    status, body = worker.post("/cases", {"subject": {"kind": "person", "full_name": "A"}, "mahalla_id": 99999,
                                          "channel": "self", "summary": "x"})
    assert status == 422 and "mahalla_id" in body["fields"]
    other_district = anon.login("worker3").get("/mahallas")[1]["items"][0]["id"]
    assert worker.post("/cases", {"subject": {"kind": "person", "full_name": "A"}, "mahalla_id": other_district,
                                  "channel": "self", "summary": "x"})[0] == 403
    assert worker.get("/cases")[1]["total"] == 0

    status, case = worker.post("/cases", {"subject": {"kind": "person", "full_name": "Zulfiya Ismoilova"},
                                          "mahalla_id": mahalla, "channel": "self", "summary": "Needs help."})
    task = case["open_tasks"][0]
    before = case_row(engine, case["id"]).row_version
    forged = dict(referral(), is_admin=True)
    status, body = worker.post(f"/tasks/{task['id']}/complete?lang=en", {"data": forged})
    assert status == 422 and body["fields"] == {"is_admin": ["Unknown field."]}
    status, body = worker.post(f"/tasks/{task['id']}/complete", {"data": forged})  # worker1 reads Uzbek
    assert status == 422 and body["fields"] == {"is_admin": ["Nomaʼlum maydon."]}
    missing = {k: v for k, v in referral().items() if k != "address"}
    status, body = worker.post(f"/tasks/{task['id']}/complete", {"data": missing})
    assert status == 422 and "address" in body["fields"]
    status, body = worker.post(f"/tasks/{task['id']}/complete", {"data": dict(referral(), address="x" * 5000)})
    assert status == 422 and "address" in body["fields"]
    status, body = worker.post(f"/tasks/{task['id']}/complete", {"data": dict(referral(), violence="yes")})
    assert status == 422 and "violence" in body["fields"]
    status, body = worker.post(f"/tasks/{task['id']}/complete", {"data": referral(), "extra": 1})
    assert status == 422 and "extra" in body["fields"]
    assert case_row(engine, case["id"]).row_version == before
    assert [t.id for t in open_tasks(engine, case["id"])] == [task["id"]]


def test_scopes_roles_and_assignment(engine, anon):
    worker1, worker2, worker3 = anon.login("worker1"), anon.login("worker2"), anon.login("worker3")
    supervisor1, supervisor2 = anon.login("supervisor1"), anon.login("supervisor2")
    status, case = worker1.post("/cases", {"subject": {"kind": "person", "full_name": "Rustam Qodirov"},
                                           "mahalla_id": worker1.get("/mahallas")[1]["items"][0]["id"],
                                           "channel": "police", "summary": "Released from prison."})
    cid, task = case["id"], case["open_tasks"][0]
    assert worker3.get(f"/cases/{cid}")[0] == 404  # other district
    assert worker2.get(f"/cases/{cid}")[0] == 404  # other mahalla of the same district
    assert supervisor2.get(f"/cases/{cid}")[0] == 404
    assert supervisor1.get(f"/cases/{cid}")[0] == 200
    assert worker2.post(f"/tasks/{task['id']}/complete", {"data": referral()})[0] == 404
    status, body = worker1.post(f"/tasks/{task['id']}/assign", {"user": "worker2"})
    assert status == 403
    status, body = supervisor1.post(f"/tasks/{task['id']}/assign", {"user": "worker3"})
    assert status == 422 and "user" in body["fields"]  # not of the district
    status, body = supervisor1.post(f"/tasks/{task['id']}/assign", {"user": "worker2", "reason": "leave"})
    assert status == 200 and body["assignee"]["username"] == "worker2"
    assert worker2.get(f"/cases/{cid}")[0] == 200  # an assignee sees the case
    status, body = worker1.post(f"/tasks/{task['id']}/complete", {"data": referral()})
    assert status == 403
    assert worker2.post(f"/tasks/{task['id']}/complete", {"data": referral()})[0] == 200
    status, detail = supervisor1.get(f"/cases/{cid}")
    assigned = [e for e in detail["timeline"] if e["action"] == "task.assigned"]
    assert assigned[0]["details"]["reason"] == "leave" and assigned[0]["actor"]["username"] == "supervisor1"


def test_draft_is_saved_and_resumed(anon):
    worker = anon.login("worker1")
    status, case = worker.post("/cases", {"subject": {"kind": "person", "full_name": "Hamida Eshmatova"},
                                          "mahalla_id": worker.get("/mahallas")[1]["items"][0]["id"],
                                          "channel": "mahalla", "summary": "Widow, three children."})
    task = case["open_tasks"][0]
    status, body = worker.call("PUT", f"/tasks/{task['id']}/draft", {"data": {"address": "Navoiy 1"}})
    assert status == 200, body
    assert worker.get(f"/tasks/{task['id']}")[1]["values"] == {"address": "Navoiy 1"}
    status, body = worker.call("PUT", f"/tasks/{task['id']}/draft", {"data": {"violence": "no"}})
    assert status == 422


def test_openapi_document_lists_every_route(anon):
    status, doc = anon.get("/openapi.json")
    assert status == 200 and doc["openapi"].startswith("3.")
    for path in ("/auth/login", "/cases", "/cases/{case_id}", "/tasks", "/tasks/{task_id}/complete",
                 "/tasks/{task_id}/claim", "/tasks/{task_id}/assign", "/definitions", "/mahallas"):
        assert path in doc["paths"], path
    assert "OpenCaseIn" in str(doc["paths"]["/cases"]["post"])
