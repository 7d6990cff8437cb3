"""The lesson's claims, each measured by a module that returns numbers.

Every claim lives in ``jaxopt_lessons/lessons/<claim_id>.py`` and offers
``CLAIM_ID``, ``CLAIM`` (the claim in one sentence), ``THRESHOLDS`` (what the
verdict requires; the tests import it), ``run(*, quick=False, seed=0) ->
Result`` (a frozen dataclass with ``holds``, ``measured`` and ``numbers()``).
Its plots are drawn by ``lessons/plots/<claim_id>.py``, whose
``plot(result, out_dir) -> list[Path]`` reads the `Result` (the plots import
the claim, never the other way round).

`CLAIM_IDS` lists them in the lesson's order; `get(claim_id)` and
`plots_of(claim_id)` import one module on demand, so
``import jaxopt_lessons.lessons`` stays light.

- ``ravine``: SGD zig-zags in a ravine and needs about κ steps; heavy-ball
  momentum about √κ.
- ``noise``: what momentum does (and does not do) about minibatch noise.
- ``scales``: per-coordinate scaling (RMSprop, Adam) against uneven gradient
  scales, and where it stops helping.
- ``lr_sensitivity``: how wide the range of good learning rates is, per
  optimizer, on a digits MLP.
- ``tradeoff``: where the solution depends on the optimizer (implicit bias),
  and whether Adam and SGD+momentum generalise differently on digits.
- ``wrong_gradients``: no optimizer rescues wrong gradients or a broken model.
- ``knowledge_check``: the lesson's three quiz questions, each option checked
  against measured evidence.

Beyond the lesson, what newer methods promise, measured the same way:

- ``lr_free``: Prodigy, D-Adaptation, DoG and DoWG at their defaults and over
  their multiplier, against Adam's range of good learning rates.
- ``schedule_free``: schedule-free AdamW with no schedule against AdamW with
  warmup-cosine, at the horizon and at every earlier stop.
- ``muon``: Muon against AdamW and SGD with momentum on a digits MLP: how
  orthogonal its matrix updates are, how fast it trains, its learning rates.
- ``quasi_newton``: L-BFGS on the ravine: when its steps stop depending on κ,
  and when they do not.
"""

from __future__ import annotations

import importlib
import types

__all__ = ["CLAIM_IDS", "get", "plots_of"]

CLAIM_IDS: tuple[str, ...] = (
    "ravine",
    "noise",
    "scales",
    "lr_sensitivity",
    "tradeoff",
    "wrong_gradients",
    "knowledge_check",
    "lr_free",
    "schedule_free",
    "muon",
    "quasi_newton",
)


def get(claim_id: str) -> types.ModuleType:
    """The module of one claim, imported on first use.

    Raises:
        ValueError: `claim_id` is not one of `CLAIM_IDS`.
    """
    if claim_id not in CLAIM_IDS:
        raise ValueError(
            f"lessons.get: `claim_id` must be one of {CLAIM_IDS}, got {claim_id!r}."
        )
    return importlib.import_module(f"jaxopt_lessons.lessons.{claim_id}")


def plots_of(claim_id: str) -> types.ModuleType:
    """The module that draws one claim's plots (``plot(result, out_dir)``),
    imported on first use (it loads matplotlib).

    Raises:
        ValueError: `claim_id` is not one of `CLAIM_IDS`.
    """
    get(claim_id)  # checks the name
    return importlib.import_module(f"jaxopt_lessons.lessons.plots.{claim_id}")
