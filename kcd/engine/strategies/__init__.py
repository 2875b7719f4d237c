"""Rollout strategies: how a version reaches the selected workloads. Pure: they see Targets, never the API."""
