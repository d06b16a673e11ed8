"""Pure values that flow through the pipeline: no I/O, no Kubernetes client, no threads."""
