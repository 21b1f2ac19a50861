"""MedCom FHIR messages beside OIOXML: CareCommunication 5.x and Acknowledgement.

``codec`` (FHIR JSON/XML bytes ⇄ tree, hardened), ``entries`` (a bundle's entries and
references), ``model`` (typed models and MedCom's systems), ``read`` and ``build``
(tree ⇄ model), ``rules`` (MedCom's profile rules, each failure with its code, and the
``OperationOutcome`` for them) and ``convert`` (XDIS91/XBIN01/XCTL ⇄ FHIR, one function per
published conversion rule).
"""
