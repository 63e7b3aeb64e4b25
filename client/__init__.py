"""What every component needs to live in the cluster: API client, informers, manifests, helpers."""
