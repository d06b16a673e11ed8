"""The pytest plugin's fixtures and its refusal to skip silently."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap

import pytest

USES_UPSTREAM = textwrap.dedent(
    """
    def test_needs_the_cluster(upstream):
        pass

    def test_needs_nothing():
        pass
    """
)


def run_pytest(tmp_path, *args, **env):
    (tmp_path / "test_sample.py").write_text(USES_UPSTREAM)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_sample.py", *args],
        cwd=tmp_path,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_missing_binaries_fail_the_tests_that_need_them_instead_of_skipping(tmp_path):
    result = run_pytest(tmp_path, KUBEBUILDER_ASSETS=str(tmp_path / "no-binaries-here"))

    assert result.returncode == 1, result.stdout
    assert "control-plane binaries unavailable" in result.stdout
    assert "no-binaries-here" in result.stdout
    assert re.search(r"1 passed, 1 error", result.stdout), result.stdout
    assert "skipped" not in result.stdout


def test_tests_using_control_planes_are_marked_apiserver(tmp_path):
    result = run_pytest(tmp_path, "-m", "not apiserver")

    assert result.returncode == 0, result.stdout
    assert "1 passed, 1 deselected" in result.stdout


def test_unique_name_is_a_short_dns_label_naming_the_test(unique_name):
    assert re.fullmatch(r"[a-z]([-a-z0-9]*[a-z0-9])?", unique_name)
    assert len(unique_name) <= 63
    assert unique_name.startswith("unique-name-is-a-short-dns-label")


@pytest.mark.parametrize("case", ["Upper/Slash", "1"])
def test_unique_name_of_a_parametrized_test_is_still_a_dns_label(case, unique_name):
    assert re.fullmatch(r"[a-z]([-a-z0-9]*[a-z0-9])?", unique_name)
