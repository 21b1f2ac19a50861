"""Samspil: the command line that composes the layers."""
