"""Milestones: a self-hosted engine for loyalty-program milestones and streaks."""

__version__ = "0.1.0"
