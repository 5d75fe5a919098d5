"""Ingestion: MQTT -> verify -> de-duplicate -> store in batches -> fold -> acknowledge.

Where a report goes, in order:

* ``session``: the MQTT session (subscribe, reconnect with jitter) and :class:`Ingest`, which
  composes the rest; ``Ingest.handle`` **verifies** each message (topic, size, enrolled and not
  revoked, signature, envelope, bounds) and counts why one is refused. ``TlsSettings`` too.
* ``agent_keys``: the enrolled agents' public keys, cached, reloaded so revocations elsewhere count.
* ``incoming``: :class:`Incoming`, what verification hands on (a stand-in envelope for a signed
  report whose own envelope did not decode).
* ``writer``: the bounded queue and the task that stores batches on one database thread, backing off
  while the database does not answer (:class:`~cloud.errors.StoreUnavailable`).
* ``store``: a batch is **stored** in one transaction (``store_batch``: de-duplication on
  ``(agent, epoch, seq)``, the queries in ``cloud/storage/reports.py``); ``store_or_set_aside``
  splits a failing batch and quarantines the reports that fail alone.
* ``folds``: which tables a new sample is **folded** into (usage, inventory, connectivity).
* ``acks``: the downlink. Reports are **acknowledged** here once committed (``AckPlan``), and
  key-rotation pushes, queued commands, revoked notices and the API's commands are published.
* ``stats``: the counters behind ``GET /api/v1/ingest/stats``.

The API sees none of this: it gets the protocols of ``cloud/downlink.py``.
"""

from ..errors import StoreUnavailable
from .acks import AckPlan, Downlink
from .incoming import Incoming
from .session import Ingest, TlsSettings
from .stats import IngestStats
from .store import StoreOutcome, store_batch, store_or_set_aside

__all__ = [
    "AckPlan",
    "Downlink",
    "Incoming",
    "Ingest",
    "IngestStats",
    "StoreOutcome",
    "StoreUnavailable",
    "TlsSettings",
    "store_batch",
    "store_or_set_aside",
]
