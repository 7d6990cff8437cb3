import jax
import jax.numpy as jnp
import pytest

from tests import helpers


@pytest.fixture(params=[True, False], ids=["jit", "eager"])
def jit(request):
    return request.param


@pytest.fixture
def mixed_tree():
    return helpers.mixed_tree(jnp.float32)


@pytest.fixture
def x64():
    """Enables float64 for one test."""
    with jax.enable_x64(True):
        yield
