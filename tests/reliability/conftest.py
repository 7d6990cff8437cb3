"""Starts the 8-device sharding check early, and reports what was tried."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import tempfile

import pytest

_ROOT = pathlib.Path(__file__).resolve().parents[2]
_CHECK = {}


def _start_sharding_check() -> None:
    """Launches `sharding_check.py` in its own process (8 simulated devices)."""
    if _CHECK:
        return
    out = pathlib.Path(tempfile.mkdtemp(prefix="jol-sharding-")) / "result"
    env = dict(os.environ)
    env["XLA_FLAGS"] = (
        env.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8"
    ).strip()
    env["JAX_PLATFORMS"] = "cpu"
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(_ROOT), env.get("PYTHONPATH")])
    )
    _CHECK["out"] = out
    _CHECK["process"] = subprocess.Popen(
        [sys.executable, "-m", "tests.reliability.sharding_check", str(out)],
        cwd=_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.hookimpl(trylast=True)  # after -k and -m have deselected
def pytest_collection_modifyitems(config, items):
    # Start it now, so that it runs while the other tests do; not in xdist
    # workers, which each collect every test.
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return
    if any("test_sharding.py" in item.nodeid for item in items):
        _start_sharding_check()


@pytest.fixture(scope="session")
def sharding_check():
    """The sharding check's report (a dict) and the path of its results."""
    _start_sharding_check()
    process = _CHECK["process"]
    try:
        output, _ = process.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail("the sharding check ran for more than 300 s")
    assert process.returncode == 0, f"the sharding check failed:\n{output[-4000:]}"
    out = _CHECK["out"]
    report = json.loads(out.with_suffix(".json").read_text())
    return report, out.with_suffix(".npz")


def pytest_sessionfinish(session, exitstatus):
    """Stops the check if no test waited for it (an interrupted session)."""
    process = _CHECK.get("process")
    if process is not None and process.poll() is None:
        process.kill()
        process.wait()


def pytest_terminal_summary(terminalreporter):
    from tests.reliability import rules

    if rules.TRIED:
        terminalreporter.write_line(
            "reliability: fuzzed {} factories; tried {} invalid and {} valid "
            "hyperparameter values".format(
                len(rules.FUZZED), rules.TRIED["invalid"], rules.TRIED["valid"]
            )
        )
