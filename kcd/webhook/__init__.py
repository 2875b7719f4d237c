"""The syncer injection webhook: `kcd webhook` (kcd.cli.webhook) runs kopf's webhook server (kcd.webhook.server),
which asks the pure kcd.webhook.inject what to add to a pod, reading the owner chain, the KCD and the syncer image tag
through kcd.webhook.sources."""
