"""The exception tree of Samspil.

Every error Samspil raises on purpose is a :class:`SamspilError`. Each carries a
machine-readable ``code`` (a MedCom ``RefuseCode`` where one fits, otherwise a short
kebab-case word) and a human sentence saying what went wrong and what to do::

    SamspilError
    ├── MessageError                    anything wrong with a message's content or form
    │   ├── XmlSyntaxError              not well-formed, or hostile (DTD, entities, depth)
    │   │   └── MessageTooLargeError    over the size limit (10 MiB by default)
    │   ├── SchemaError                 well-formed but invalid against the MedCom schema
    │   ├── UnsupportedMessageError     a namespace or letter type Samspil does not carry
    │   ├── IdentifierError             a CPR, GLN or SOR code that cannot be right
    │   ├── ReceiptRuleError            a receipt MedCom's rules do not allow
    │   ├── Hl7Error                    malformed or unsupported HL7 v2
    │   ├── EdifactError                an EDIFACT interchange (DIS91, CTL01-03) not readable
    │   │   ├── EdifactTruncatedError       ends inside a segment, or before its UNT/UNZ
    │   │   ├── EdifactCountError           UNT's segment count or UNZ's message count is wrong
    │   │   ├── EdifactReleaseError         a release character (``?``) releasing nothing
    │   │   ├── EdifactServiceStringError   a second or malformed UNA
    │   │   ├── EdifactCharsetError         bytes/characters outside ISO-8859-1 (syntax UNOC)
    │   │   ├── EdifactStructureError       segments missing, misplaced or mismatched
    │   │   ├── EdifactValueError           a value MedCom's code lists or formats refuse
    │   │   └── EdifactUnsupportedError     a message type/version Samspil does not carry
    │   ├── MllpFrameError              a broken or oversize MLLP frame
    │   └── FhirError                   MedCom FHIR (CareCommunication, Acknowledgement)
    │       ├── FhirSyntaxError         not FHIR JSON/XML, too large, too deeply nested
    │       ├── FhirStructureError      a bundle Samspil cannot read: duplicate fullUrls,
    │       │                           references to nowhere, wrong resource types
    │       ├── FhirProfileError        readable, but MedCom's profile rules are broken
    │       │                           (``issues``: every rule broken, each with its code)
    │       └── ConversionError         no OIOXML ⇄ FHIR conversion for this input
    └── (coordinator, wire and adapters add their own subtrees)

Third-party errors (lxml, xmlschema, hl7apy) never leave the module that calls the
library: they are translated into one of these, ``raise ... from exc``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class RefuseCode(StrEnum):
    """MedCom's refuse codes (XCTL01/XCTL02 ``RefuseCode``)."""

    NOT_SPECIFIED = "ikke_specificeret"
    UNKNOWN_LOCATION_NUMBER = "ukendt_lokationsnummer"
    RECEIVER_ID_PROBLEM = "problem_med_modtagerID"
    VERSION_PROBLEM = "problem_med_version"
    SYNTAX_ERROR = "syntaksfejl"


class SamspilError(Exception):
    """Root of every error Samspil raises on purpose."""

    code: str = "samspil-error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return self.message


class MessageError(SamspilError):
    """A message that cannot be read, built or carried as it is.

    ``line`` is the 1-based line in the document where the problem was found (when known);
    ``refuse_code`` is what a MedCom receiver answers in an XCTL02 for it.
    """

    code = RefuseCode.SYNTAX_ERROR.value
    refuse_code: RefuseCode = RefuseCode.SYNTAX_ERROR

    def __init__(
        self,
        message: str,
        *,
        line: int | None = None,
        refuse_code: RefuseCode | None = None,
        code: str | None = None,
    ) -> None:
        if refuse_code is not None:
            self.refuse_code = refuse_code
        super().__init__(message, code=code or self.refuse_code.value)
        self.line = line

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line is not None else ""
        return f"{where}{self.message}"


class XmlSyntaxError(MessageError):
    """The bytes are not a well-formed, safe XML document."""


class SchemaError(MessageError):
    """The document is well-formed but the MedCom schema does not accept it."""


class UnsupportedMessageError(MessageError):
    """A namespace, root element or version code that Samspil does not carry."""

    refuse_code = RefuseCode.VERSION_PROBLEM


class IdentifierError(MessageError):
    """A CPR number, GLN/EAN location number or SOR code that cannot be right."""

    code = "invalid-identifier"

    def __init__(self, message: str, *, kind: str, line: int | None = None) -> None:
        super().__init__(message, line=line, code=f"invalid-{kind}")
        self.kind = kind


class ReceiptRuleError(MessageError):
    """A receipt MedCom's rules forbid (e.g. a receipt for a receipt)."""

    code = "receipt-not-allowed"

    def __init__(self, message: str) -> None:
        super().__init__(message, code="receipt-not-allowed")


class Hl7Error(MessageError):
    """An HL7 v2 message Samspil cannot read or does not handle.

    ``segment`` names the segment (e.g. ``PID``) where the problem is, when known. Every
    Hl7Error is final: the sender must not resend the message unchanged (HL7 ``AE``, or
    ``AR`` for an unsupported version or an unreadable ``MSH``, see
    ``messages.hl7.ack.ack_code_for``); a temporary failure (``AR``) is the adapter's to
    report, not the message layer's.
    """

    code = "hl7-error"

    def __init__(
        self, message: str, *, segment: str | None = None, code: str = "hl7-error"
    ) -> None:
        super().__init__(message, code=code)
        self.segment = segment

    def __str__(self) -> str:
        where = f"segment {self.segment}: " if self.segment else ""
        return f"{where}{self.message}"


class MllpFrameError(MessageError):
    """A broken or oversize MLLP frame."""

    code = "mllp-frame"

    def __init__(self, message: str) -> None:
        super().__init__(message, code="mllp-frame")


class MessageTooLargeError(XmlSyntaxError):
    """The document is larger than the configured limit."""

    code = "message-too-large"

    def __init__(self, message: str) -> None:
        super().__init__(message, code="message-too-large")


class EdifactError(MessageError):
    """An EDIFACT interchange Samspil cannot read, or a model it cannot write as one.

    ``segment`` is the 1-based number of the segment in the interchange where the problem
    is (UNA not counted) and ``tag`` its tag, when known. Every EdifactError is final: the
    sender must not send the same bytes again. The refuse code is ``syntaksfejl`` unless a
    subclass says otherwise.
    """

    code = "edifact-error"

    def __init__(
        self,
        message: str,
        *,
        segment: int | None = None,
        tag: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message, code=code or type(self).code)
        self.segment = segment
        self.tag = tag

    def __str__(self) -> str:
        if self.segment is None:
            return self.message
        tag = f" ({self.tag})" if self.tag else ""
        return f"segment {self.segment}{tag}: {self.message}"


class EdifactTruncatedError(EdifactError):
    """The interchange ends inside a segment, or before a message's UNT or the UNZ."""

    code = "edifact-truncated"


class EdifactCountError(EdifactError):
    """UNT's segment count or UNZ's message count does not match what was received."""

    code = "edifact-count"


class EdifactReleaseError(EdifactError):
    """A release character that releases no service character (or ends the data)."""

    code = "edifact-release"


class EdifactServiceStringError(EdifactError):
    """A second UNA service string advice, or one that is malformed."""

    code = "edifact-una"


class EdifactCharsetError(EdifactError):
    """Bytes (reading) or characters (writing) outside syntax UNOC, ISO-8859-1's printable
    characters; or a syntax identifier other than UNOA/UNOB/UNOC."""

    code = "edifact-charset"


class EdifactStructureError(EdifactError):
    """Segments missing, out of place, or a UNT/UNZ reference that does not match."""

    code = "edifact-structure"


class EdifactValueError(EdifactError):
    """A value outside MedCom's code lists or formats (a date, a speciality code...)."""

    code = "edifact-value"


class EdifactUnsupportedError(EdifactError):
    """A message type or version Samspil does not carry (MedCom: ``problem_med_version``)."""

    code = "edifact-unsupported"
    refuse_code = RefuseCode.VERSION_PROBLEM


class FhirError(MessageError):
    """A MedCom FHIR message (CareCommunication, Acknowledgement) Samspil cannot take.

    ``code`` is a short kebab-case word (``fhir-…``, or the profile rule's own code);
    ``expression`` is where in the bundle the problem is (a FHIRPath-like path) when known.
    A FHIR receiver answers every FhirError with a ``fatal-error`` Acknowledgement: the
    sender must not resend the bundle unchanged.
    """

    code = "fhir-error"

    def __init__(self, message: str, *, code: str | None = None, expression: str | None = None):
        super().__init__(message, code=code or type(self).code)
        self.expression = expression

    def __str__(self) -> str:
        where = f"{self.expression}: " if self.expression else ""
        return f"{where}{self.message}"


class FhirSyntaxError(FhirError):
    """Not FHIR JSON or XML Samspil will read (``fhir-syntax``, ``fhir-too-large``,
    ``fhir-too-deep``, ``fhir-not-a-bundle``)."""

    code = "fhir-syntax"


class FhirStructureError(FhirError):
    """A bundle whose entries do not hang together (``fhir-duplicate-fullurl``,
    ``fhir-unresolved-reference``, ``fhir-wrong-resource-type``, ``fhir-missing-element``,
    ``fhir-too-many-entries``)."""

    code = "fhir-structure"


class FhirProfileError(FhirError):
    """A readable bundle that breaks MedCom's profile rules. ``issues`` holds every rule
    broken (each with its own code, e.g. ``cc-2``); ``code`` is the first one's."""

    code = "fhir-profile"

    def __init__(self, issues: tuple[FhirIssue, ...]) -> None:
        first = issues[0] if issues else None
        super().__init__(
            first.message if first else "the bundle breaks MedCom's profile rules",
            code=first.code if first else None,
            expression=first.expression if first else None,
        )
        self.issues = issues


class ConversionError(FhirError):
    """An OIOXML ⇄ FHIR conversion that cannot be made (``conversion-…``)."""

    code = "conversion-error"


@dataclass(frozen=True, slots=True)
class FhirIssue:
    """One broken rule: its ``code``, a sentence, where (``expression``) and the rule's
    source (``rule``: profile and invariant, e.g. ``MedComCareCommunicationMessage cc-2``)."""

    code: str
    message: str
    expression: str | None = None
    rule: str = ""
