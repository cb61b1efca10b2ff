"""The llm formatter against a hostile server: its timeoutSeconds is a budget for the whole call."""

from __future__ import annotations

import json

from vt_testing.hostile_http import drip, endless


def test_the_llm_formatter_keeps_its_budget_against_a_dripping_server(hostile_server, run_formatter):
    chat = {"choices": [{"message": {"content": "Formatted."}, "finish_reason": "stop"}]}
    hostile_server.serve(drip(hostile_server, json.dumps(chat).encode(), 0.05))
    result = run_formatter("llm", "raw text", language="en",
                           config={"baseUrl": hostile_server.url, "apiKey": "sk-x", "timeoutSeconds": 0.5})
    assert result.text is None and "too slow: no complete reply within 0.5 s" in result.error


def test_the_llm_formatter_refuses_an_endless_reply(hostile_server, run_formatter):
    hostile_server.serve(endless(hostile_server))
    result = run_formatter("llm", "raw text", language="en",
                           config={"baseUrl": hostile_server.url, "apiKey": "sk-x", "maxRetries": 0})
    assert result.text is None and "reply too big: more than 32 MiB" in result.error
