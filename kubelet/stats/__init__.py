"""Container and node usage: periodic collection, the metrics API and cAdvisor metrics."""
