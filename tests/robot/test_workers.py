"""Every worker answers from the knowledge base as it is: an entry stored through one server
process answers through another from the moment the request that stored it returned, and a
change or a deletion too (each worker keeps its index with the version it was built from)."""

from __future__ import annotations

import requests

from ..live import LiveServer, api_key, sign_up


def test_an_entry_stored_on_one_worker_answers_on_another_at_once(database):
    one = LiveServer(database.app_url)
    two = LiveServer(database.app_url)
    try:
        owner, _ = sign_up(one, "robot-workers")
        headers = {"Authorization": f"Bearer {api_key(one, owner)}"}

        def ask(server: LiveServer, question: str) -> dict:
            response = requests.post(
                f"{server.url}/api/v1/robot/answer",
                json={"question": question},
                headers=headers,
                timeout=10,
            )
            assert response.status_code == 200, response.text
            return response.json()

        def store(server: LiveServer, answer: str) -> int:
            entry = {
                "external_id": "ship",
                "question": "How much is shipping?",
                "alternatives": ["shipping fee", "delivery cost"],
                "answer": answer,
            }
            response = requests.post(
                f"{server.url}/api/v1/robot/entries", json=[entry], headers=headers, timeout=10
            )
            assert response.status_code == 200, response.text
            return response.json()["data"][0]["id"]

        assert ask(two, "shipping fee")["decision"] == "handover"  # two builds an empty index
        entry_id = store(one, "6 yuan.")
        assert ask(two, "shipping fee")["answer"] == "6 yuan."
        store(one, "Free.")
        assert ask(two, "shipping fee")["answer"] == "Free."
        gone = requests.delete(
            f"{one.url}/api/v1/robot/entries/{entry_id}", headers=headers, timeout=10
        )
        assert gone.status_code == 200
        assert ask(two, "shipping fee")["decision"] == "handover"
    finally:
        one.stop()
        two.stop()
