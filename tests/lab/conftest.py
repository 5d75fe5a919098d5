"""The lab suite uses the session's virtual home from ``lab.pytest_plugin`` (loaded by tests/conftest.py)."""
