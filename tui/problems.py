"""What the apps say when the hub refuses or cannot answer: one sentence per problem code.

The hub's problem+json carries a machine-readable ``code`` and an English ``detail``. The
apps never show the detail: it is written for a log, in English, and may quote what was sent.
They look the code up here instead, in the app's language; a code not in the table gets a
sentence for its HTTP status, naming the code only when it is a plain slug
(``[a-z0-9_-]``, a letter first, at most 40 characters, no run of four digits), so nothing
else a hub or a proxy writes reaches the screen. Pure functions: no Textual, no network.

:func:`sentence` is the words for one error, :func:`notice` the line a screen shows
(``✖ …``), :func:`ends_session` says whether the error means the person's token is no
longer taken (a 401: expired, unknown, disabled) rather than this one request refused.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from tui.i18n import Texts
from wire.errors import CredentialRefused, HubError, HubUnavailable

__all__ = ["SENTENCES", "code_sentence", "ends_session", "notice", "sentence"]

_DA: dict[str, str] = {
    # the credential (401): the session ends and a new token is asked for
    "token-expired": "Dit token er udløbet.",
    "unauthorized": "Hubben kender ikke dit token, eller det er spærret.",
    "unknown-token": "Hubben kender ikke dit token.",
    "credential-disabled": "Dit token er spærret.",
    "unknown-certificate": "Hubben kender ikke klientcertifikatet.",
    "credential-expired": "Dit token eller certifikat er udløbet.",
    "certificate-revoked": "Klientcertifikatet er spærret.",
    # not allowed (403)
    "forbidden": "Din rolle må ikke gøre dette.",
    "no-active-case": "Ingen aktiv sag for dette barn hos jer — opret sagen i jeres fagsystem "
    "først.",
    "sender-mismatch": "Brevets afsender er ikke jeres organisation.",
    "access-reason-missing": "Adgangsloggen kræver en begrundelse for opslaget.",
    "on-behalf-of-missing": "Et systemtoken skal sige, hvem der ser — brug et personligt token.",
    # not there, not now
    "not-found": "Findes ikke hos hubben — eller er ikke jeres.",
    "method-not-allowed": "Hubben kender ikke denne handling (kører den en anden version?).",
    "expired": "Brevet er udløbet, før det blev taget ind; afsenderen har fået besked.",
    "already-receipted": "Brevet er allerede kvitteret.",
    "illegal-transition": "Brevets status tillader ikke dette nu.",
    "resend-limit": "Brevet er sendt igen så mange gange, som MedCom tillader.",
    "not-expired": "Kun et udløbet brev kan gensendes.",
    "not-a-letter": "En statusrapport sendes for et brev, ikke for en kvittering.",
    "no-receipt-yet": "Der er endnu ingen kvittering for brevet.",
    "organisation-exists": "Organisationen er allerede registreret.",
    "idempotency-key-reused": "Forespørgslen blev sendt igen med et andet indhold.",
    "conflict": "Hubben afviser det i den nuværende tilstand.",
    "letters-consumed-by-system": "Jeres fagsystem tager brevene ind; her kan de læses, "
    "besvares og videresendes.",
    "letters-consumed-by-people": "Brevene tages ind af medarbejderne i Samspil-appen.",
    "invalid-search": "Søgningen kan ikke bruges.",
    "invalid-cursor": "Siden findes ikke længere — søg igen.",
    "letter-removed": "Brevet er slettet fra Samspil, da opbevaringsperioden udløb.",
    "certificate-already-revoked": "Certifikatet er allerede spærret.",
    "consent-verified": "Et verificeret samtykke kan ikke bestrides her; familien tilbagekalder "
    "det hos samtykketjenesten.",
    "consent-recorded-by-you": "I har selv registreret samtykket — tilbagekald det i stedet.",
    "consent-does-not-cover-you": "Samtykket åbner intet af jeres — der er intet at bestride.",
    "consent-document-reused": "Samtykkedokumentet er allerede brugt til et andet samtykke.",
    "ref-belongs-to-another-child": "Referencen hører til et andet barn.",
    # what was sent
    "bad-request": "Hubben forstod ikke forespørgslen.",
    "invalid-json": "Hubben forstod ikke forespørgslen.",
    "invalid-cpr": "Hubben godtager ikke CPR-nummeret.",
    "invalid-gln": "Lokationsnummeret er ugyldigt.",
    "invalid-identifier": "Et id i brevet er ugyldigt.",
    "invalid-entry": "Hubben godtager ikke oplysningerne.",
    "invalid-period": "Perioden er ugyldig: slutdatoen skal ligge efter startdatoen.",
    "naive-time": "Et tidspunkt mangler tidszone.",
    "consent-not-valid-for-age": "Samtykket passer ikke til barnets alder (se reglen).",
    "unknown-organisation": "Organisationen er ikke registreret hos hubben.",
    "payload-too-large": "Det er for stort til hubben.",
    "unsupported-media-type": "Hubben tager ikke imod denne slags indhold.",
    "network-receipt-not-accepted": "Hubben tager ikke imod en netværkskvittering.",
    "receipt-not-allowed": "Dette brev kan ikke kvitteres.",
    "ukendt_lokationsnummer": "Modtageren er ikke registreret hos hubben (ukendt lokationsnummer).",
    "problem_med_modtagerID": "Der er et problem med modtagerens id.",
    "problem_med_version": "Hubben tager ikke imod denne version af brevet.",
    "syntaksfejl": "Hubben kunne ikke læse brevet (syntaksfejl).",
    "ikke_specificeret": "Hubben afviste brevet.",
    "malformed-request": "Hubben kunne ikke læse forespørgslen.",
    "invalid-ref": "Referencen er ugyldig.",
    "unknown-case-ref": "Hubben kender ikke sagens reference hos jer.",
    "invalid-idempotency-key": "Forespørgslens id (Idempotency-Key) er ugyldigt.",
    "invalid-on-behalf-of": "Navnet på den, der ser, kan ikke bruges.",
    "invalid-access-reason": "Begrundelsen for opslaget kan ikke bruges.",
    "invalid-organisation": "Organisationens oplysninger er ugyldige.",
    "invalid-name": "Navnet er ugyldigt.",
    "invalid-sector": "Sektoren er ugyldig.",
    "invalid-sor": "SOR-koden er ugyldig (15 eller 16 cifre).",
    "invalid-municipality": "Kommunekoden er ugyldig (tre cifre).",
    "invalid-revocation": "Spærringen kan ikke bruges.",
    "invalid-serial": "Serienummeret er ugyldigt.",
    "invalid-reason": "Begrundelsen er ugyldig.",
    "invalid-subject": "Emnet skal være 1 til 70 tegn.",
    "invalid-characters": "Teksten har tegn, et brev ikke kan bære.",
    "letter-too-long": "Brevet er for langt.",
    "message-too-large": "Brevet er for stort til hubben.",
    "consent-service-not-configured": "Hubben er ikke sat op til samtykketjenesten.",
    "consent-document-malformed": "Samtykkedokumentet kan ikke læses.",
    "consent-document-unknown-key": "Samtykkedokumentet er signeret med en nøgle, hubben ikke "
    "kender.",
    "consent-document-bad-signature": "Samtykkedokumentets signatur holder ikke.",
    "consent-document-not-yet-valid": "Samtykkedokumentet gælder endnu ikke.",
    "consent-document-expired": "Samtykkedokumentet er udløbet.",
    "consent-document-other-child": "Samtykkedokumentet gælder et andet barn.",
    "samspil-error": "Hubben afviste forespørgslen.",
    # later (429, 5xx, an answer that cannot be read)
    "rate-limited": "Hubben får for mange forespørgsler fra dig — prøv igen om {wait}.",
    "too-many-long-polls": "For mange venter på indbakken på én gang — prøv igen om {wait}.",
    "too-many-failures": "For mange mislykkede logins herfra — prøv igen om {wait}.",
    "database-unavailable": "Hubbens database svarer ikke lige nu — prøv igen om lidt.",
    "consent-keys-unavailable": "Hubben kan ikke hente samtykketjenestens nøgler lige nu — prøv "
    "igen om {wait}.",
    "store-unavailable": "Hubbens database svarer ikke lige nu — prøv igen om lidt.",
    "timeout": "Hubben nåede ikke at svare — prøv igen.",
    "internal": "Hubben fik en intern fejl — prøv igen om lidt; bliver det ved, så kontakt "
    "driften.",
    "hub-error": "Hubben fik en fejl — prøv igen om lidt.",
    "http-error": "Hubben afviste forespørgslen.",
    "unreadable-answer": "Hubbens svar kunne ikke læses — prøv igen; bliver det ved, så "
    "kontakt driften.",
    # by HTTP status, for a code not above
    "status.0": "Hubben svarer ikke.",
    "status.400": "Hubben forstod ikke forespørgslen{code}.",
    "status.401": "Hubben afviste dit token{code}.",
    "status.403": "Hubben tillader ikke dette{code}.",
    "status.404": "Findes ikke hos hubben{code}.",
    "status.408": "Hubben nåede ikke at svare — prøv igen{code}.",
    "status.409": "Hubben afviser det i den nuværende tilstand{code}.",
    "status.410": "Findes ikke længere hos hubben{code}.",
    "status.422": "Hubben godtager det ikke{code}.",
    "status.4xx": "Hubben afviste forespørgslen{code}.",
    "status.429": "Hubben har travlt — prøv igen om {wait}{code}.",
    "status.5xx": "Hubben svarer med en fejl ({status}) — prøv igen om lidt{code}.",
    "invalid-choice": "Værdien er ikke en af dem, hubben kender.",
    "invalid-letters-consumed-by": "Vælg om brevene tages ind af fagsystemet eller af "
    "medarbejderne.",
    "invalid-format": "Vælg brevformatet: oioxml eller fhir.",
    "conversion-record-damaged": "Hubbens oplysninger om brevets oversættelse er beskadiget — "
    "kontakt driften.",
    "fhir-error": "FHIR-meddelelsen kan ikke modtages.",
    "fhir-syntax": "FHIR-meddelelsen kan ikke læses (ikke gyldig JSON eller XML).",
    "fhir-too-large": "FHIR-meddelelsen er for stor.",
    "fhir-too-deep": "FHIR-meddelelsen er indlejret for dybt.",
    "fhir-not-a-bundle": "FHIR-meddelelsen er ikke en bundle.",
    "fhir-structure": "FHIR-meddelelsens dele hænger ikke sammen.",
    "fhir-duplicate-fullurl": "FHIR-meddelelsen har den samme fullUrl to gange.",
    "fhir-unresolved-reference": "FHIR-meddelelsen henviser til noget, der ikke er med.",
    "fhir-wrong-resource-type": "FHIR-meddelelsen har en ressource af forkert type.",
    "fhir-missing-element": "FHIR-meddelelsen mangler et krævet felt.",
    "fhir-too-many-entries": "FHIR-meddelelsen har for mange dele.",
    "fhir-invalid-value": "FHIR-meddelelsen har en ugyldig værdi.",
    "fhir-invalid-characters": "FHIR-meddelelsen indeholder tegn, der ikke kan bruges.",
    "fhir-unsupported-event": "Den slags FHIR-meddelelse tager Samspil ikke imod.",
    "fhir-profile": "FHIR-meddelelsen overholder ikke MedComs profil.",
    "conversion-error": "Brevet kan ikke oversættes til modtagerens format.",
    "conversion-no-cpr": "Brevet kan ikke oversættes: det mangler barnets CPR-nummer.",
    "conversion-no-gln": "Brevet kan ikke oversættes: en organisation mangler sit GLN-nummer.",
    "conversion-not-this-message": "Kvitteringen hører ikke til det brev, den nævner.",
    "conversion-unknown-organisation": "Brevet kan ikke oversættes: en organisation er ukendt.",
    "wait.later": "lidt",
    "wait.seconds": "{n} s",
}

_EN: dict[str, str] = {
    "token-expired": "Your token has expired.",
    "unauthorized": "The hub does not know your token, or it is disabled.",
    "unknown-token": "The hub does not know your token.",
    "credential-disabled": "Your token is disabled.",
    "unknown-certificate": "The hub does not know the client certificate.",
    "credential-expired": "Your token or certificate has expired.",
    "certificate-revoked": "The client certificate is revoked.",
    "forbidden": "Your role may not do this.",
    "no-active-case": "No active case for this child with you — open it in your case system first.",
    "sender-mismatch": "The letter's sender is not your organisation.",
    "access-reason-missing": "The access log needs a reason for the look-up.",
    "on-behalf-of-missing": "A system token must say who looks — use a personal token.",
    "not-found": "Not found at the hub — or not yours.",
    "method-not-allowed": "The hub does not know this action (is it another version?).",
    "expired": "The letter expired before it was taken in; its sender was told.",
    "already-receipted": "The letter has been receipted already.",
    "illegal-transition": "The letter's status does not allow this now.",
    "resend-limit": "The letter has been sent again as often as MedCom allows.",
    "not-expired": "Only an expired letter can be re-delivered.",
    "not-a-letter": "A status report is sent for a letter, not for a receipt.",
    "no-receipt-yet": "There is no receipt for the letter yet.",
    "organisation-exists": "The organisation is registered already.",
    "idempotency-key-reused": "The request was sent again with other content.",
    "conflict": "The hub refuses this in the current state.",
    "letters-consumed-by-system": "Your case system takes the letters in; here you can read, "
    "answer and forward them.",
    "letters-consumed-by-people": "The letters are taken in by the caseworkers in the Samspil app.",
    "invalid-search": "The search cannot be used.",
    "invalid-cursor": "The page is gone — search again.",
    "letter-removed": "The letter was removed from Samspil when its retention period ended.",
    "certificate-already-revoked": "The certificate is revoked already.",
    "consent-verified": "A verified consent cannot be disputed here; the family revokes it at "
    "the consent service.",
    "consent-recorded-by-you": "You recorded the consent yourselves — revoke it instead.",
    "consent-does-not-cover-you": "The consent opens nothing of yours — there is nothing to "
    "dispute.",
    "consent-document-reused": "The consent document has been used for another consent already.",
    "ref-belongs-to-another-child": "The reference belongs to another child.",
    "bad-request": "The hub did not understand the request.",
    "invalid-json": "The hub did not understand the request.",
    "invalid-cpr": "The hub does not accept the CPR number.",
    "invalid-gln": "The location number is not valid.",
    "invalid-identifier": "An identifier in the letter is not valid.",
    "invalid-entry": "The hub does not accept the details.",
    "invalid-period": "The period is not valid: its end must come after its start.",
    "naive-time": "A time lacks its time zone.",
    "consent-not-valid-for-age": "The consent does not fit the child's age (see the rule).",
    "unknown-organisation": "The organisation is not registered at the hub.",
    "payload-too-large": "It is too large for the hub.",
    "unsupported-media-type": "The hub does not take this kind of content.",
    "network-receipt-not-accepted": "The hub does not take a network receipt.",
    "receipt-not-allowed": "This letter cannot be receipted.",
    "ukendt_lokationsnummer": "The receiver is not registered at the hub (unknown location "
    "number).",
    "problem_med_modtagerID": "There is a problem with the receiver's id.",
    "problem_med_version": "The hub does not take this version of the letter.",
    "syntaksfejl": "The hub could not read the letter (syntax error).",
    "ikke_specificeret": "The hub refused the letter.",
    "malformed-request": "The hub could not read the request.",
    "invalid-ref": "The reference is not valid.",
    "unknown-case-ref": "The hub does not know the case reference at yours.",
    "invalid-idempotency-key": "The request's id (Idempotency-Key) is not valid.",
    "invalid-on-behalf-of": "The name of the person looking cannot be used.",
    "invalid-access-reason": "The reason for the look-up cannot be used.",
    "invalid-organisation": "The organisation's details are not valid.",
    "invalid-name": "The name is not valid.",
    "invalid-sector": "The sector is not valid.",
    "invalid-sor": "The SOR code is not valid (15 or 16 digits).",
    "invalid-municipality": "The municipality code is not valid (three digits).",
    "invalid-revocation": "The revocation cannot be used.",
    "invalid-serial": "The serial number is not valid.",
    "invalid-reason": "The reason is not valid.",
    "invalid-subject": "The subject must be 1 to 70 characters.",
    "invalid-characters": "The text has characters a letter cannot carry.",
    "letter-too-long": "The letter is too long.",
    "message-too-large": "The letter is too large for the hub.",
    "consent-service-not-configured": "The hub is not set up for the consent service.",
    "consent-document-malformed": "The consent document cannot be read.",
    "consent-document-unknown-key": "The consent document is signed with a key the hub does not "
    "know.",
    "consent-document-bad-signature": "The consent document's signature does not hold.",
    "consent-document-not-yet-valid": "The consent document is not valid yet.",
    "consent-document-expired": "The consent document has expired.",
    "consent-document-other-child": "The consent document is about another child.",
    "samspil-error": "The hub refused the request.",
    "rate-limited": "The hub gets too many requests from you — try again in {wait}.",
    "too-many-long-polls": "Too many are waiting on the inbox at once — try again in {wait}.",
    "too-many-failures": "Too many failed logins from here — try again in {wait}.",
    "database-unavailable": "The hub's database does not answer right now — try again soon.",
    "consent-keys-unavailable": "The hub cannot fetch the consent service's keys right now — try "
    "again in {wait}.",
    "store-unavailable": "The hub's database does not answer right now — try again soon.",
    "timeout": "The hub did not answer in time — try again.",
    "internal": "The hub had an internal error — try again soon; if it persists, tell operations.",
    "hub-error": "The hub had an error — try again soon.",
    "http-error": "The hub refused the request.",
    "unreadable-answer": "The hub's answer could not be read — try again; if it persists, "
    "tell operations.",
    "status.0": "The hub does not answer.",
    "status.400": "The hub did not understand the request{code}.",
    "status.401": "The hub refused your token{code}.",
    "status.403": "The hub does not allow this{code}.",
    "status.404": "Not found at the hub{code}.",
    "status.408": "The hub did not answer in time — try again{code}.",
    "status.409": "The hub refuses this in the current state{code}.",
    "status.410": "No longer at the hub{code}.",
    "status.422": "The hub does not accept it{code}.",
    "status.4xx": "The hub refused the request{code}.",
    "status.429": "The hub is busy — try again in {wait}{code}.",
    "status.5xx": "The hub answers with an error ({status}) — try again soon{code}.",
    "invalid-choice": "The value is not one the hub knows.",
    "invalid-letters-consumed-by": "Choose whether the case system or the people take the "
    "letters in.",
    "invalid-format": "Choose the letter format: oioxml or fhir.",
    "conversion-record-damaged": "The hub's record of the letter's conversion is damaged — "
    "tell operations.",
    "fhir-error": "The FHIR message cannot be taken.",
    "fhir-syntax": "The FHIR message cannot be read (not valid JSON or XML).",
    "fhir-too-large": "The FHIR message is too large.",
    "fhir-too-deep": "The FHIR message is nested too deeply.",
    "fhir-not-a-bundle": "The FHIR message is not a bundle.",
    "fhir-structure": "The FHIR message's parts do not hang together.",
    "fhir-duplicate-fullurl": "The FHIR message has the same fullUrl twice.",
    "fhir-unresolved-reference": "The FHIR message refers to something it does not hold.",
    "fhir-wrong-resource-type": "The FHIR message has a resource of the wrong type.",
    "fhir-missing-element": "The FHIR message lacks a required element.",
    "fhir-too-many-entries": "The FHIR message has too many entries.",
    "fhir-invalid-value": "The FHIR message has an invalid value.",
    "fhir-invalid-characters": "The FHIR message holds characters that cannot be used.",
    "fhir-unsupported-event": "Samspil does not take this kind of FHIR message.",
    "fhir-profile": "The FHIR message breaks MedCom's profile.",
    "conversion-error": "The letter cannot be converted to the receiver's format.",
    "conversion-no-cpr": "The letter cannot be converted: the child's CPR number is missing.",
    "conversion-no-gln": "The letter cannot be converted: an organisation lacks its GLN.",
    "conversion-not-this-message": "The receipt does not belong to the letter it names.",
    "conversion-unknown-organisation": "The letter cannot be converted: an organisation is "
    "unknown.",
    "wait.later": "a moment",
    "wait.seconds": "{n} s",
}

SENTENCES: Mapping[str, Mapping[str, str]] = {"da": _DA, "en": _EN}
"""Language -> problem code (or ``status.N``) -> sentence."""

_SLUG = re.compile(r"[a-z][a-z0-9_-]{0,39}")
_NUMBER = re.compile(r"[0-9]{4}")  # a code is named, a number that could be data is not


def ends_session(error: HubError) -> bool:
    """True when the hub no longer takes the person's credential at all (a 401)."""
    return isinstance(error, CredentialRefused) and error.status == 401


def sentence(texts: Texts, error: HubError) -> str:
    """The words for ``error`` in ``texts``' language: never the hub's own detail."""
    table = SENTENCES.get(texts.lang, _DA)
    retry_after = error.retry_after if isinstance(error, HubUnavailable) else None
    if retry_after is None:
        wait = table["wait.later"]
    else:
        wait = table["wait.seconds"].format(n=f"{retry_after:g}")
    code = error.code or ""
    if not _SLUG.fullmatch(code) or _NUMBER.search(code):
        code = ""
    if error.status != 0 and code in table:
        return table[code].format(wait=wait)
    status = error.status
    if status == 0:
        key = "status.0"
    elif status >= 500:
        key = "status.5xx"
    elif f"status.{status}" in table:
        key = f"status.{status}"
    else:
        key = "status.4xx"
    named = f" ({code})" if code and not code.startswith(("http-", "hub-")) else ""
    return table[key].format(wait=wait, status=status, code=named)


def code_sentence(texts: Texts, code: str) -> str:
    """The words for a problem ``code`` met without the hub (a letter the message layer
    refuses before it is sent): its sentence, or the plain "refused" one."""
    table = SENTENCES.get(texts.lang, _DA)
    return table.get(code) or table["status.4xx"].format(code="")


def notice(texts: Texts, error: HubError) -> str:
    """The line a screen shows for ``error``: ``✖`` and :func:`sentence`."""
    return texts("error", detail=sentence(texts, error))
