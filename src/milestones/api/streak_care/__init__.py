"""Streak care endpoints (SPEC §17): grant freezes, repair a missed period."""
