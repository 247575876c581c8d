"""Plain helpers shared by the tests and the bench/ scripts (no fixtures: those live
in each area's conftest.py). `wait.wait_for` is the one way to wait for a condition."""
