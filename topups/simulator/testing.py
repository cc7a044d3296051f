"""Run the simulator inside a test: ``with serve_in_thread() as api: requests.get(api.url + "/ping")``.

Starting one costs a socket and a thread, so tests can start a fresh simulator each instead of
sharing state; stopping it wakes connections that hang on a ``timeout_after_accept`` fault.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from .server import SimulatorServer, make_server
from .state import Simulator


@dataclass(frozen=True)
class RunningSimulator:
    simulator: Simulator
    server: SimulatorServer
    host: str
    port: int

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """The API base URL, ending in ``/v3`` (no trailing slash), as the client expects it."""
        return f"{self.base}/v3"

    @property
    def control_url(self) -> str:
        return f"{self.base}/_sim"


@contextmanager
def serve_in_thread(simulator: Simulator | None = None, host: str = "127.0.0.1", port: int = 0,
                    **simulator_kwargs: Any) -> Iterator[RunningSimulator]:
    """Serve ``simulator`` (or a new one built from ``simulator_kwargs``) in a daemon thread."""
    if simulator is not None and simulator_kwargs:
        raise TypeError("give either a simulator or arguments to build one, not both")
    simulator = simulator or Simulator(**simulator_kwargs)
    server = make_server(simulator, host, port)
    # A short poll interval keeps stop() fast; the cost is a wake-up every 50 ms while idle.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name=f"api-simulator-{server.server_address[1]}", daemon=True)
    thread.start()
    try:
        yield RunningSimulator(simulator, server, host, server.server_address[1])
    finally:
        server.stop()
        thread.join(timeout=5)
