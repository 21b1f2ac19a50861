"""Who is calling and what they may do: tokens and certificates, credentials,
limits, revocation, TLS, administration, the directory.
"""
