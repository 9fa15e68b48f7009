"""TrainConfig: what a new run takes from its recipe, what a resumed run keeps from its checkpoint."""

from dataclasses import asdict

import pytest

from tui_ae.config import MAX_LATENT_DIM, TrainConfig
from tui_ae.errors import TuiAeError


def _saved(**changes) -> dict:
    """A checkpoint's meta["config"], as train() writes it."""
    return {**asdict(TrainConfig(model="vae", recipe="best", seed=5).resolved()), **changes}


def test_a_new_run_takes_seed_0_unless_given():
    assert TrainConfig().resolved().seed == 0
    assert TrainConfig(seed=7).resolved().seed == 7


def test_a_resumed_run_keeps_the_checkpoints_seed():
    assert TrainConfig(model="vae", resume=True).resumed(_saved()).seed == 5
    assert TrainConfig(model="vae", resume=True, seed=5).resumed(_saved()).seed == 5


@pytest.mark.parametrize("seed", [0, 6])  # 0 too: given explicitly, not the default
def test_a_resumed_run_refuses_another_seed(seed):
    with pytest.raises(TuiAeError, match=f"--seed {seed} differs from the checkpoint's 5"):
        TrainConfig(model="vae", resume=True, seed=seed).resumed(_saved())


def test_a_resumed_run_keeps_its_hyper_parameters_and_takes_new_epochs():
    resumed = TrainConfig(model="vae", resume=True, epochs=100, device="cpu").resumed(_saved(lr=1e-3))
    assert (resumed.recipe, resumed.lr, resumed.batch_size, resumed.epochs) == ("best", 1e-3, 128, 100)
    assert resumed.device == "cpu"


def test_the_latent_size_is_bounded():
    TrainConfig(latent_dim=MAX_LATENT_DIM).resolved().validate()
    with pytest.raises(TuiAeError, match=f"--latent-dim must be at most {MAX_LATENT_DIM}, got 3000000000"):
        TrainConfig(latent_dim=3_000_000_000).resolved().validate()
