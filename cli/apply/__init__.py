"""Client-side apply: the three-way merge and the annotation it remembers manifests by."""
