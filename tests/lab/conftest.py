"""The lab suite's fixtures: the session's virtual home (see lab.pytest_plugin).

Imported rather than declared with ``pytest_plugins`` (pytest allows that only in the top-level
conftest); if tests/conftest.py loads the plugin too, both share one home per session.
"""

from lab.pytest_plugin import clean_home, home

__all__ = ["clean_home", "home"]
