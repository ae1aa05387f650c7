"""Schedules on the local backend: triggers, schedule records, firing, and the detached scheduler."""
