"""The syncer sidecar: polls a workload's registry and annotates the workload with the candidate version."""
