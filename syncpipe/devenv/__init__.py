"""Local control planes (etcd + kube-apiserver + kube-controller-manager) for tests and `dev`."""
