"""Access to the bundled data sets of `problems.datasets`, with a stand-in.

`problems.datasets` is the project's loader. Until it is importable, a small
stand-in with the same call signature reads scikit-learn's bundled copies
(nothing is downloaded): a stratified (classification) or plain 70/30 split
with `random_state=seed`, features standardised with the training statistics
when asked.
"""

from __future__ import annotations

import types

import numpy as np


def _stand_in(name: str, standardize: bool, seed: int, stratify: bool):
    from sklearn import datasets as sk
    from sklearn.model_selection import train_test_split

    x, y = getattr(sk, name)(return_X_y=True)
    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y, test_size=0.3, random_state=seed, stratify=y if stratify else None
    )
    if standardize:
        mean, std = x_tr.mean(0), x_tr.std(0)
        x_tr, x_te = (x_tr - mean) / std, (x_te - mean) / std
    return types.SimpleNamespace(
        x_train=np.asarray(x_tr, np.float32),
        y_train=np.asarray(y_tr, np.float32),
        x_test=np.asarray(x_te, np.float32),
        y_test=np.asarray(y_te, np.float32),
    )


def load_breast_cancer(standardize: bool, seed: int):
    try:
        from jaxopt_lessons.problems import datasets
    except ImportError:
        return _stand_in("load_breast_cancer", standardize, seed, stratify=True)
    return datasets.load_breast_cancer(standardize=standardize, seed=seed)


def load_diabetes(seed: int):
    try:
        from jaxopt_lessons.problems import datasets
    except ImportError:
        return _stand_in("load_diabetes", True, seed, stratify=False)
    return datasets.load_diabetes(seed)
