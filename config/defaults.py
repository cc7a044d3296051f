"""Defaults shared by the settings and ``make run``'s supervisor (scripts/run_stack.py), which reads
them without loading Django."""

#: The bundled API simulator, where the app calls when ONECLICKDZ_API_URL is not set.
SIMULATOR_URL = "http://127.0.0.1:8099/v3"
