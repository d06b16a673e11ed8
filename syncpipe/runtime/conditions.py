"""The conditions on a SyncerConfig's status, decided from what the syncer knows about it.

The syncer gathers the facts (``ConfigFacts``); this one pure function decides the
conditions, so that every reason, and which one wins, is in one place:

``Ready`` — one reason, the first that applies, the most severe first:

* ``InvalidConfig`` (False): the config is malformed and ignored; the message names each
  problem with its ``$.path``.
* ``SourceUnavailable`` (False): a side refuses to be read (RBAC, token).
* ``ObjectsRejected`` (False): objects failed terminally (refused, conflicting); cleared once
  they sync.
* ``SelectionProblems`` (False): entries that select nothing by their scope, or objects
  selected both ways.
* ``PartlyInactive`` (False): part of the config syncs nothing because an API it needs is not
  served (the same resources ``APIsAvailable`` lists); it starts by itself when they appear.
  False rather than True-with-a-reason: what the config asks for is not all happening, and
  ``kubectl get syncerconfigs`` shows the Ready column only.
* ``Syncing`` (True): none of the above.

``APIsAvailable`` — ``NotServed`` (False, listing per side each resource not served: the
config's entries the source side does not serve, and the kinds copies wait for on their
target side) or ``Served`` (True).

``DeletionsHeld`` — ``CircuitBreakerTripped`` (True) while the deletion circuit breaker holds
deletions (inferred from relists, or vetoed by a plugin: the message names it); absent otherwise
(it clears when the syncer restarts with ``--confirm-held-deletions``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs

from syncpipe.model.events import Side

MESSAGE_LIMIT = 1000
SHOWN_PER_REASON = 5


@attrs.frozen(kw_only=True)
class ConfigFacts:
    """What the syncer knows about one SyncerConfig right now."""

    config_problems: Sequence[str] = ()
    unreadable: Sequence[str] = ()
    rejected: Sequence[tuple[str, str]] = ()  # (object key, why)
    selection_problems: Sequence[str] = ()
    # Per side: the resources not served there that this config needs.
    unserved: Mapping[Side, Sequence[str]] = attrs.field(factory=dict)
    held_deletions: int | None = None  # None: the circuit breaker is not tripped
    # Per plugin whose selection veto caused some of them: how many (``DeletionGuard.vetoes_held``).
    held_vetoed_by: Sequence[tuple[str, int]] = ()


def unserved_message(unserved: Mapping[Side, Sequence[str]]) -> str:
    """``not served upstream: a, b; not served downstream: c`` (sides without any left out)."""
    return "; ".join(
        f"not served {side.value}: {', '.join(unserved[side])}"
        for side in (Side.UPSTREAM, Side.DOWNSTREAM)
        if unserved.get(side)
    )


def held_message(count: int, vetoed_by: Sequence[tuple[str, int]]) -> str:
    """What ``DeletionsHeld`` says: how many deletions are held, why, how to release them."""
    if vetoed_by:
        vetoed = sum(n for _plugin, n in vetoed_by)
        why = [f"{count - vetoed} inferred from relists"] if count > vetoed else []
        why += [f"{n} vetoed by plugin {plugin}" for plugin, n in vetoed_by]
        held = f"{count} deletions are held ({', '.join(why)})"
    else:
        held = f"{count} deletions inferred from relists are held"
    return f"{held}; restart with --confirm-held-deletions to let them through"


def _ready(facts: ConfigFacts) -> tuple[str, str, str]:
    if facts.config_problems:
        return "False", "InvalidConfig", "; ".join(facts.config_problems)
    if facts.unreadable:
        return "False", "SourceUnavailable", "; ".join(facts.unreadable[:SHOWN_PER_REASON])
    if facts.rejected:
        shown = facts.rejected[:SHOWN_PER_REASON]
        return "False", "ObjectsRejected", "; ".join(f"{k}: {v}" for k, v in shown)
    if facts.selection_problems:
        return "False", "SelectionProblems", "; ".join(facts.selection_problems)
    missing = unserved_message(facts.unserved)
    if missing:
        return "False", "PartlyInactive", f"part of this config syncs nothing: {missing}"
    return "True", "Syncing", ""


def conditions(facts: ConfigFacts) -> list[dict[str, str]]:
    """The config's conditions (without transition times), in a stable order."""
    status, reason, message = _ready(facts)
    found = [{"type": "Ready", "status": status, "reason": reason, "message": message}]
    if facts.held_deletions is not None:
        found.append(
            {
                "type": "DeletionsHeld",
                "status": "True",
                "reason": "CircuitBreakerTripped",
                "message": held_message(facts.held_deletions, facts.held_vetoed_by),
            }
        )
    missing = unserved_message(facts.unserved)
    if missing:
        found.append(
            {
                "type": "APIsAvailable",
                "status": "False",
                "reason": "NotServed",
                "message": missing,
            }
        )
    else:
        found.append({"type": "APIsAvailable", "status": "True", "reason": "Served", "message": ""})
    for condition in found:
        condition["message"] = condition["message"][:MESSAGE_LIMIT]
    return found
