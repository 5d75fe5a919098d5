"""Which tables a newly stored sample folds into: usage sums, the home's inventory, connectivity.

Called from :func:`cloud.ingest.store.store_batch` once per sample of a report this worker stored
(never for a duplicate), inside the batch's transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session

from protocol import Sample

from ..connectivity import CONNECTIVITY_PROBES, apply_connectivity
from ..inventory import DISCOVERY_PROBE, apply_inventory
from ..usage import USAGE_PROBES, apply_usage

_LOGGER = logging.getLogger(__name__)


def fold(session: Session, agent_id: str, sample: Sample) -> None:
    """Fold one sample into its tables inside a savepoint: a sample the folds cannot read is logged
    and kept raw, and never fails the batch (which would stall every agent's acks)."""
    folder: Callable[[Session, str, Sample], object]
    if sample.probe in USAGE_PROBES and sample.status == "Complete":
        folder = apply_usage
    elif sample.probe == DISCOVERY_PROBE and sample.status == "Complete":
        folder = apply_inventory
    elif sample.probe in CONNECTIVITY_PROBES:
        folder = apply_connectivity
    else:
        return  # most samples fold into nothing: no savepoint, no round trip
    try:
        with session.begin_nested():
            folder(session, agent_id, sample)
    except (SQLAlchemyError, TypeError, ValueError, KeyError, AttributeError, ArithmeticError) as exc:
        if isinstance(exc, DBAPIError) and exc.connection_invalidated:
            raise  # the database went away: the batch fails and is retried, not kept half-folded
        _LOGGER.warning(
            "agent %s: %s sample not folded (kept raw): %s: %s",
            agent_id,
            sample.probe,
            type(exc).__name__,
            exc,
        )
