"""The pure rollout engine: views, strategies, plans. No client library, no I/O."""
