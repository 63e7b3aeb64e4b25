"""Pod workers: one per pod, keeping the runtime in step with the desired pod."""
