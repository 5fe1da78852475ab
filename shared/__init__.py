"""Code that the web, worker and trainer processes share.

This package is the floor of the project: it imports nothing from ``web``, ``worker`` or
``trainer``.
"""
