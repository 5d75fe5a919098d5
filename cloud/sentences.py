"""What people read when the cloud refuses something, for the sentences more than one module says.

A CSR or subscriber reads these in the console (as a problem document's ``detail``): a sentence
with a next step, never an identifier or a type name.
"""

from __future__ import annotations

from typing import Final

NO_SUCH_AGENT: Final = "No home has that id, or its agent was removed; check the id and try again."
AGENT_OFFLINE: Final = (
    "The home's agent is offline; ask the subscriber to check that the gateway or computer is on,"
    " then try again."
)


def not_found_sentence(what: str) -> str:
    """An object this login cannot see is answered like one that does not exist (no probing)."""
    return f"No {what} with that id is visible to this login; check the id and try again."


def role_sentence(minimum: str) -> str:
    return f"This needs the {minimum} role or a higher one; ask a tenant administrator."
