"""Artifact validation for a conda channel: filters, matcher, artifacts, channel scans."""

__version__ = "0.1.0"
