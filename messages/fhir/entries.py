"""A bundle's entries, indexed once, and the one way a reference is followed.

A MedCom message bundle is self-contained: every reference names an entry of the same
bundle, by its ``fullUrl`` or as ``Type/id`` relative to it (MedCom's examples do the
latter, with fullUrls under ``https://medcomfhir.dk/ig/carecommunication/``). Two entries
with one fullUrl, or with one type and id, make references ambiguous and are refused; a
reference to nowhere, or to a resource of the wrong type, is refused where it is followed.
"""

from __future__ import annotations

import re
from typing import Any

from messages.errors import FhirStructureError, FhirSyntaxError
from messages.fhir.codec import Tree, every, first

__all__ = ["MAX_ENTRIES", "Entries"]

#: a CareCommunication has about ten entries; the limit keeps a hostile bundle's cost bounded
MAX_ENTRIES = 200

_RELATIVE = re.compile(r"(?:^|/)([A-Z][A-Za-z]{1,63})/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$")


class Entries:
    """The resources of one bundle, by fullUrl and by (type, id), in bundle order."""

    __slots__ = ("by_key", "by_url", "resources", "types")

    def __init__(self, bundle: Tree) -> None:
        if bundle.get("resourceType") != "Bundle":
            raise FhirSyntaxError(
                f"a MedCom message is a Bundle, not {bundle.get('resourceType')!r}",
                code="fhir-not-a-bundle",
            )
        entries = every(bundle, "entry")
        if len(entries) > MAX_ENTRIES:
            raise FhirStructureError(
                f"the bundle has {len(entries)} entries; Samspil reads at most {MAX_ENTRIES}",
                code="fhir-too-many-entries",
            )
        self.by_url: dict[str, Tree] = {}
        self.by_key: dict[tuple[str, str], Tree] = {}
        self.resources: list[Tree] = []
        self.types: list[str] = []
        for index, entry in enumerate(entries):
            where = f"Bundle.entry[{index}]"
            resource = first(entry, "resource")
            kind = resource.get("resourceType") if isinstance(resource, dict) else None
            if not isinstance(kind, str):
                raise FhirStructureError(
                    "an entry holds no resource", code="fhir-missing-element", expression=where
                )
            url = first(entry, "fullUrl")
            if isinstance(url, str):
                if url in self.by_url:
                    raise FhirStructureError(
                        f"two entries have the fullUrl {url!r}",
                        code="fhir-duplicate-fullurl",
                        expression=f"{where}.fullUrl",
                    )
                self.by_url[url] = resource
            rid = resource.get("id")
            if isinstance(rid, str):
                if (kind, rid) in self.by_key:
                    raise FhirStructureError(
                        f"two entries are {kind}/{rid}",
                        code="fhir-duplicate-fullurl",
                        expression=f"{where}.resource.id",
                    )
                self.by_key[(kind, rid)] = resource
            self.resources.append(resource)
            self.types.append(kind)

    def of_type(self, kind: str) -> list[Tree]:
        return [r for r, t in zip(self.resources, self.types, strict=True) if t == kind]

    def resolve(self, reference: Any, expected: str | tuple[str, ...], where: str) -> Tree:
        """The resource ``reference`` (a Reference element or its string) names, which must
        be a ``expected`` (or one of them); FhirStructureError otherwise."""
        kinds = (expected,) if isinstance(expected, str) else expected
        wanted = " or ".join(kinds)
        ref = first(reference, "reference") if isinstance(reference, dict) else reference
        if not isinstance(ref, str) or not ref:
            raise FhirStructureError(
                f"a reference to a {wanted} is missing",
                code="fhir-missing-element",
                expression=where,
            )
        found = self.by_url.get(ref)
        if found is None:
            match = _RELATIVE.search(ref)
            if match is not None:
                found = self.by_key.get((match.group(1), match.group(2)))
                if found is None and match.group(1) not in kinds:
                    raise FhirStructureError(
                        f"{where} must refer to a {wanted}, not a {match.group(1)}",
                        code="fhir-wrong-resource-type",
                        expression=where,
                    )
        if found is None:
            raise FhirStructureError(
                f"{where} refers to a resource that is not in the bundle",  # the reference
                # itself is not repeated: a conditional one can hold an identifier (a CPR)
                code="fhir-unresolved-reference",
                expression=where,
            )
        kind = found.get("resourceType")
        if kind not in kinds:
            raise FhirStructureError(
                f"{where} must refer to a {wanted}, not a {kind}",
                code="fhir-wrong-resource-type",
                expression=where,
            )
        return found
