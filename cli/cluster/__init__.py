"""`tug up` / `tug down`: a local cluster of detached processes, supervised by PID."""
