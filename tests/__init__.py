"""gatecast's tests: one folder per area, each with its fixtures in its conftest.py;
plain helpers live in tests/support/ and are imported as `tests.support.<name>`."""
