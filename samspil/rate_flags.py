"""What the operators' summary flags, in sentences: the stolen-token signal as the hub sees
it (``GET /v1/operator/summary``, ``index_rates``), for the end of ``samspil demo`` and
``samspil simulate``. Read from the hub, never from what the simulation knows it did."""

from __future__ import annotations

from typing import Any

from adapters.simulation.run import HubAccess
from wire.client import HubClient, Json
from wire.errors import HubError

__all__ = ["flagged_sentences", "sentences"]

KINDS = {"new-children": "new children", "attested-consents": "attested consents"}
"""How a sentence names each kind the hub counts (``wire.operator.RateKind``)."""


async def flagged_sentences(hub: HubAccess) -> list[str]:
    """One sentence per organisation the hub's summary flags now (none: one saying so);
    nothing when the provider made no operator token (a hub run elsewhere)."""
    if not hub.operator_token:
        return []
    try:
        async with HubClient(hub.url, hub.operator_token, ca_file=hub.ca_file) as operator:
            summary = await operator.summary()
    except HubError as exc:
        return [f"The operators' summary could not be read: {exc.code} ({exc.status})."]
    return sentences(summary)


def sentences(summary: Json) -> list[str]:
    """The summary's flagged rates, one sentence per organisation (by GLN), its new
    children first."""
    flagged: dict[str, list[dict[str, Any]]] = {}
    order = list(KINDS)
    for rate in sorted(
        summary.get("index_rates") or [],
        key=lambda r: order.index(r["kind"]) if r["kind"] in order else len(order),
    ):
        if rate.get("flagged"):
            flagged.setdefault(str(rate["organisation"]), []).append(rate)
    if not flagged:
        return ["The monitor flagged no organisation's rate today."]
    return [
        f"The monitor flagged {rates[0]['name']} ({gln}): "
        + "; ".join(
            f"{rate['today']} {KINDS.get(rate['kind'], rate['kind'])} today against a usual "
            f"{rate['usual']:g}"
            for rate in rates
        )
        + " — a stolen token? The monitor's d disables it."
        for gln, rates in sorted(flagged.items())
    ]
