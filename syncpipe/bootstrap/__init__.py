"""``syncer-gen``: register an edge cluster with a mailbox workspace.

Upstream (the mailbox side) it creates, idempotently, the syncer's identity: a ServiceAccount,
a least-privilege ClusterRole and its binding, and a long-lived token Secret; then it renders
the manifest that installs the syncer in the edge cluster (``kubectl apply -f``).

The modules keep pure decisions apart from API calls:

- ``identity``: names (``kubestellar-syncer-<name>-<suffix>``) and the labels that find them again;
- ``rbac``: which rules the syncer needs on each side, each with its reason (pure);
- ``kubeconfig``: the upstream kubeconfig the syncer is given (pure);
- ``manifest``: the edge cluster's objects and their YAML (pure);
- ``upstream``: create-or-update of the upstream objects through ``RestClient``;
- ``generate``: the whole run, in order, reporting each step.
"""
