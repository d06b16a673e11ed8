"""The only package that imports the Kubernetes client: connection, raw REST, discovery, watch."""
