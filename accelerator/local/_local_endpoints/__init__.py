"""Serving on this machine: Azure ML's inference server, run in its own environment on loopback."""
