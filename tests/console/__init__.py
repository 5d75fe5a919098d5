"""The console in a real browser (issue 9): pages, roles, sessions and hostile data."""
