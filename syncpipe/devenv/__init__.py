"""Local Kubernetes control planes for the integration tests and `syncpipe dev`.

One control plane is etcd + kube-apiserver (+ kube-controller-manager), on loopback ports.

``assets`` finds or builds the binaries, ``pki`` makes each control plane's CA and keys,
``flags`` spells out the binaries' command lines, ``processes`` and ``tmpfs`` look after the
child processes and etcd's data, ``controlplane`` runs one control plane and ``pair`` the
upstream/downstream pair. ``kubeapi`` is a tiny HTTPS client for setup calls, so that this
package (imported by the CLI) does without the official Kubernetes client.
"""
