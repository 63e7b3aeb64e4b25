"""Admission: rules that judge an object against the rest of the cluster (its namespace's
labels), after validation and before it is stored. Each rule is a module; a kind's
strategy decides which apply to it (`Strategy.admit`)."""
