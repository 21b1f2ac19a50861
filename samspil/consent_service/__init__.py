"""``samspil consent-service``: a stand-in for the national consent service (Digitalt
Samtykke) that issues signed consent documents the hub can verify.

* :mod:`~samspil.consent_service.keys` — the key directory: signing keys, rotation, the JWKS;
* :mod:`~samspil.consent_service.signing` — a consent's claims and their ES256 compact JWS;
* :mod:`~samspil.consent_service.app` — the HTTP API (JWKS, sign, rotate);
* :mod:`~samspil.consent_service.server` — running it (the command, the simulation, tests);
* :mod:`~samspil.consent_service.cli` — the subcommand.

The document's claims are the wire contract's (:mod:`wire.consent_document`), and its HTTP
client is :mod:`wire.consent_service`, so the hub and the simulation need nothing from here;
the hub never imports this package.
"""
