"""The simulator over HTTP with a key, as its service tests call it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import requests


@contextmanager
def keyed_caller(server, key: str) -> Iterator:
    """``call(method, path, **kwargs) -> (status, json)`` against a freshly reset simulator with
    ``key``; ``call.sim`` is its Simulator and ``call.control(method, path)`` reaches ``/_sim``."""
    server.simulator.reset()
    session = requests.Session()
    session.headers["X-Access-Token"] = key

    def call(method, path, **kwargs):
        response = session.request(method, server.url + path, timeout=5, **kwargs)
        return response.status_code, response.json()

    def control(method, path, **kwargs):
        return requests.request(method, server.control_url + path, timeout=5, **kwargs).json()

    call.sim, call.control = server.simulator, control
    try:
        yield call
    finally:
        session.close()
