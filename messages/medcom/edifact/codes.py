"""MedCom's EDIFACT code lists and their OIOXML values (from MedCom's converter).

Each table maps the EDIFACT code to the OIOXML value; the writing direction is the inverse.
Where MedCom's converter disagrees with itself it is said beside the entry.
"""

from __future__ import annotations

from typing import Final

from messages.errors import RefuseCode

__all__ = [
    "EPISODE_STATUS",
    "IDENTIFIER_CODES",
    "MESSAGE_TYPES",
    "OBJECT_CODES",
    "REFUSE_CODES",
    "SPECIALITIES",
    "extension_code",
    "extension_value",
    "inverse",
    "message_type_name",
]


def inverse(table: dict[str, str]) -> dict[str, str]:
    return {value: code for code, value in table.items()}


# SPR+ORG+<code>:SKS:SST: the sender's speciality. MedCom's stylesheet also reads 80 as
# "paediatri_sygehus", which the OIOXML schema does not list: left out, so it is refused.
# Its writing table gives dermato_venerologi_praksis 2511 (klinisk_kemi's code), its reading
# table 2504: 2504 is used both ways.
SPECIALITIES: Final[dict[str, str]] = {
    "99": "ikkeklassificeret", "1": "intern_medicin_sygehus", "2": "geriatri",
    "3": "hepatologi", "4": "haematologi", "5": "infektionsmedicin", "6": "kardiologi",
    "7": "med_allergologi", "8": "med_endokrinologi", "9": "med_gastroenterologi",
    "10": "med_lungesygdomme", "11": "nefrologi", "12": "reumatologi",
    "18": "dermato_venerologi_sygehus", "20": "neurologi", "22": "onkologi",
    "30": "kirurgi_sygehus", "31": "karkirurgi", "32": "kir_gastroenterologi",
    "33": "plastikkirurgi", "34": "thoraxkirurgi", "35": "urologi",
    "38": "gynaekologi_obstetrik_sygehus", "40": "neurokirurgi",
    "42": "ortopaedisk_kirurgi_sygehus", "44": "oftalmologi", "46": "oto_rhino_laryngologi",
    "48": "hospitalsodontologi", "50": "psykiatri_sygehus", "52": "boerne_ungdomspsykiatri",
    "60": "klin_biokemi", "61": "klin_fys_nuklearmedicin", "62": "klin_immunologi",
    "63": "klin_mikrobiologi", "64": "klin_neurofysiologi", "65": "patologisk_anatomi",
    "66": "diagnostisk_radiologi", "67": "klin_farmakologi", "68": "klin_genetik",
    "84": "anaestesiologi_sygehus", "86": "arbejdsmedicin", "90": "almen_medicin",
    "91": "samfundsmedicin", "580": "almenlaege_laegevagt", "1519": "oejenlaege",
    "2021": "oere_naese_halslaege", "2501": "anaestesiologi_praksis", "2503": "roentgen_kbh",
    "2504": "dermato_venerologi_praksis", "2505": "roentgen", "2506": "reumatologi_fysiurgi",
    "2507": "gynaekologi_obstetrik_praksis", "2508": "intern_medicin_praksis",
    "2509": "kirurgi_praksis", "2511": "klinisk_kemi", "2518": "neuromedicin",
    "2520": "ortopaedisk_kirurgi_praksis", "2522": "patologi ", "2523": "plastkirurgi",
    "2524": "psykiatri_praksis", "2525": "paediatri", "2526": "boernepsykiatri",
    "2528": "tropemedicin", "4050": "tandlaege", "4551": "fysioterapi", "5053": "kiropraktor",
    "5552": "briller", "6054": "fodterapi", "6055": "fodbehandlking",
    "7045": "med_laboratorier", "7046": "omegnslaboratorier", "9463": "psykolog",
}  # fmt: skip

# NAD C082 code list qualifier (and responsible agency written beside it). An empty or
# absent qualifier, or EAN, is a location number.
IDENTIFIER_CODES: Final[dict[str, str]] = {
    "SKS": "sygehusafdelingsnummer",
    "YNR": "ydernummer",
    "": "lokationsnummer",
    "KOM": "kommunenummer",
    "SOR": "sorkode",
}
IDENTIFIER_AGENCIES: Final[dict[str, str]] = {
    "sygehusafdelingsnummer": "SST",
    "ydernummer": "SFU",
    "lokationsnummer": "9",
    "kommunenummer": "IM",
    "sorkode": "SST",
}

# PAS+<code>: EpisodeOfCareStatusCode.
EPISODE_STATUS: Final[dict[str, str]] = {
    "POT": "inaktiv",
    "HS": "indlagt",
    "HA": "ambulant",
    "DA": "doed",
    "REQ": "ambulant_roentgen",
}

# FTX+BIN: the attachment's kind. SND is read as multimedie (MedCom's converter).
OBJECT_CODES: Final[dict[str, str]] = {
    "TXT": "tekstfil",
    "IMG": "billede",
    "PRG": "program",
    "VGR": "vektor_grafik",
    "BSG": "biosignaler",
    "MUL": "multimedie",
    "PRP": "proprietaert_indhold",
}
_EXTENSIONS: Final[dict[str, str]] = {"TIF": "tiff", "JPG": "jpeg"}


def extension_value(code: str) -> str:
    """FTX+BIN file type → ObjectExtensionCode (PDF → pdf, TIF → tiff, JPG → jpeg)."""
    return _EXTENSIONS.get(code, code.lower())


def extension_code(value: str) -> str:
    return inverse(_EXTENSIONS).get(value, value.upper())


# CONTRL FTX qualifier → RefuseCode.
REFUSE_CODES: Final[dict[str, RefuseCode]] = {
    "NC": RefuseCode.NOT_SPECIFIED,
    "LOK": RefuseCode.UNKNOWN_LOCATION_NUMBER,
    "MID": RefuseCode.RECEIVER_ID_PROBLEM,
    "VER": RefuseCode.VERSION_PROBLEM,
    "SYN": RefuseCode.SYNTAX_ERROR,
}

# UCM's message type for an original letter's version code, by its first letter (an OIOXML
# version code, X…, gets an X before the name, as MedCom's converter writes it).
MESSAGE_TYPES: Final[dict[str, str]] = {
    "D": "MEDDIS",
    "H": "MEDREF",
    "R": "MEDRPT",
    "Q": "MEDREQ",
    "A": "PRODAT",
    "B": "MEDBIN",
    "C": "CONTRL",
}


def message_type_name(version_code: str) -> str:
    oio = version_code.startswith("X") and len(version_code) > 1
    name = MESSAGE_TYPES.get(version_code[1:2] if oio else version_code[:1], "Ukendt")
    return "X" + name if oio and name != "Ukendt" else name
