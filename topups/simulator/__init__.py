"""A simulator of the OneClickDZ Flexy API v3 (account and internet top-ups) for the demo, the
tests and the benchmarks, where the real API cannot be reached.

Stdlib only and no Django, like the client next to it. See docs/simulator.md for the outcome
rules, the control interface and the choices made where the API docs are unclear.
"""

from .faults import ENDPOINTS, KINDS
from .lifecycle import Outcome
from .server import SimulatorServer, make_server
from .state import DEMO_KEY, Simulator
from .testing import RunningSimulator, serve_in_thread
from .wire import ApiFailure

__all__ = [
    "DEMO_KEY",
    "ENDPOINTS",
    "KINDS",
    "ApiFailure",
    "Outcome",
    "RunningSimulator",
    "Simulator",
    "SimulatorServer",
    "make_server",
    "serve_in_thread",
]
