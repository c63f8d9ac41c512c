"""SCIM 2.0 protocol pieces that know nothing about storage or web frameworks.

Nothing in this package imports :mod:`connector`; the application plugs storage in.
"""
