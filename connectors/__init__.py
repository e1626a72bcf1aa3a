"""Vendor connectors, one subpackage each; found through the `okrhub.connectors` entry points."""
