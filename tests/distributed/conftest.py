"""Starts the distributed checks' processes early, and reads what they wrote.

The checks need processes of their own, because JAX fixes the number of
devices, and joins a distributed run, when it starts: `zero1_check.py` runs
with 8 simulated CPU devices, `multiprocess_worker.py` twice, as the two
processes of one `jax.distributed` run with 2 devices each, and the
benchmark `jaxopt_lessons.benchmarks.sharded_state --quick` with 8 devices. They are started
as soon as the tests are collected, so that they run while other tests do.
"""

from __future__ import annotations

import json
import os
import pathlib
import socket
import subprocess
import sys
import tempfile
import time

import pytest

from tests.reliability.training import FAST_COMPILE

_ROOT = pathlib.Path(__file__).resolve().parents[2]
_STARTED: dict[str, dict] = {}
#: Figures the tests found, printed at the end of the session.
SUMMARY: dict[str, str] = {}

TIMEOUT_S = 300
PROCESSES = 2
#: The optimizers the benchmark's smoke test runs.
BENCHED = "adam,grouped adam"


def _env(devices: int) -> dict:
    env = dict(os.environ)
    flags = [
        f
        for f in env.get("XLA_FLAGS", "").split()
        if "xla_force_host_platform_device_count" not in f
    ]
    # FAST_COMPILE as flags: a third less compile time, and the programs the
    # tests compare with are compiled with the same options.
    fast = [f"--{k}={str(v).lower()}" for k, v in FAST_COMPILE.items()]
    env["XLA_FLAGS"] = " ".join(
        [*flags, *fast, f"--xla_force_host_platform_device_count={devices}"]
    )
    env["JAX_PLATFORMS"] = "cpu"
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(_ROOT), env.get("PYTHONPATH")])
    )
    return env


def _spawn(module: str, *args: str, devices: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", module, *args],
        cwd=_ROOT,
        env=_env(devices),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def _start(name: str) -> None:
    if name in _STARTED:
        return
    out = str(pathlib.Path(tempfile.mkdtemp(prefix=f"jol-{name}-")) / "result")
    if name == "zero1":
        processes = [_spawn("tests.distributed.zero1_check", out, devices=8)]
    elif name == "bench":
        module = "jaxopt_lessons.benchmarks.sharded_state"
        args = ["--quick", "--no-update", "--only", BENCHED, "--json", out + ".json"]
        processes = [_spawn(module, *args, devices=8)]
    else:
        port = str(_free_port())
        processes = [
            _spawn(
                "tests.distributed.multiprocess_worker",
                out,
                port,
                str(PROCESSES),
                str(i),
                devices=2,
            )
            for i in range(PROCESSES)
        ]
    _STARTED[name] = {"out": out, "processes": processes, "start": time.perf_counter()}


@pytest.hookimpl(trylast=True)  # after -k and -m have deselected
def pytest_collection_modifyitems(config, items):
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return  # every xdist worker collects every test; start on first use
    if any("test_zero1.py" in item.nodeid for item in items):
        _start("zero1")
    if any("test_multiprocess.py" in item.nodeid for item in items):
        _start("multiprocess")
    if any("test_benchmark.py" in item.nodeid for item in items):
        _start("bench")


def _wait(name: str) -> tuple[dict, str, float]:
    """(report, output path prefix, wall seconds) of a started check."""
    _start(name)
    started = _STARTED[name]
    outputs = []
    deadline = started["start"] + TIMEOUT_S
    for process in started["processes"]:
        try:
            output, _ = process.communicate(
                timeout=max(1.0, deadline - time.perf_counter())
            )
        except subprocess.TimeoutExpired:
            for p in started["processes"]:
                p.kill()
            pytest.fail(f"the {name} check ran for more than {TIMEOUT_S} s")
        outputs.append(output)
    seconds = time.perf_counter() - started["start"]
    report_path = pathlib.Path(started["out"] + ".json")
    if not report_path.exists() or any(p.returncode for p in started["processes"]):
        tails = "\n---\n".join(o[-3000:] for o in outputs)
        pytest.fail(f"the {name} check failed:\n{tails}")
    report = json.loads(report_path.read_text())
    return report, started["out"], seconds


@pytest.fixture(scope="session")
def zero1_check():
    return _wait("zero1")


@pytest.fixture(scope="session")
def bench_run():
    return _wait("bench")


@pytest.fixture(scope="session")
def multiprocess_run():
    report, out, seconds = _wait("multiprocess")
    if "skip" in report:
        pytest.skip(report["skip"])
    return report, out, seconds


def pytest_sessionfinish(session, exitstatus):
    """Stops the checks if no test waited for them (an interrupted session)."""
    for started in _STARTED.values():
        for process in started["processes"]:
            if process.poll() is None:
                process.kill()
                process.wait()


def pytest_terminal_summary(terminalreporter):
    for line in SUMMARY.values():
        terminalreporter.write_line(f"distributed: {line}")
