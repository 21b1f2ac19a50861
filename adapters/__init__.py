"""The sector systems' side: adapters for municipal, psychiatry and GP systems."""
