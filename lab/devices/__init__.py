"""Devices the lab runs as processes inside host namespaces (``python -m lab.devices.<name>``).

Each is a small program of its own, started and stopped by :mod:`lab.services` or :mod:`lab.impair`,
that prints ``ready`` on stdout once it serves.
"""
