"""``syncpipe dev up --with-node`` on a machine that cannot run a node (nothing is started)."""

from click.testing import CliRunner

from syncpipe.cli.main import cli
from syncpipe.devenv import node


def test_with_node_names_the_missing_prerequisites_in_one_error_line(tmp_path, monkeypatch):
    missing = ["not root: containerd, the kubelet and the bridge need root", "no overlayfs"]
    monkeypatch.setattr(node, "missing_prerequisites", lambda: missing)
    result = CliRunner().invoke(cli, ["dev", "up", "--with-node", "--state-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: cannot run a node here: " + "; ".join(missing)
    ]
    assert not (tmp_path / "state.json").exists()
