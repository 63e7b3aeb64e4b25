"""kubectl's table columns for every kind, shared by `tug get` and the API server's Table
responses (`kubectl get`), so there is one implementation of what each kind shows."""
