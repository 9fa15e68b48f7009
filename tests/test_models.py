import math

import pytest
import torch

from tui_ae.models import VAE, ConvAE, build_model


@pytest.mark.parametrize("kind", ["ae", "vae"])
def test_inference_has_no_gradients_and_reconstruct_decodes_the_code(kind):
    torch.manual_seed(0)
    model = build_model(kind, latent_dim=3).eval()
    x = torch.rand(4, 1, 28, 28)
    done = model.reconstruct(x)
    torch.testing.assert_close(done.codes, model.encode(x))
    torch.testing.assert_close(done.images, model.decode(done.codes))
    if kind == "vae":
        mu, log_var = model.posterior(x)
        torch.testing.assert_close(done.codes, mu)
        torch.testing.assert_close(done.sigma, torch.exp(log_var / 2))
    else:
        assert done.sigma is None
    made = [done.codes, done.images, model.encode(x), model.decode(torch.randn(2, 3))]
    assert not any(t.requires_grad for t in made)  # nothing kept for a backward pass
    _, losses = model(x)
    losses["loss"].backward()  # training's forward still has its gradients
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


@pytest.mark.parametrize("kind", ["ae", "vae"])
@pytest.mark.parametrize("latent_dim", [2, 3])
def test_shapes_and_ranges(kind, latent_dim):
    torch.manual_seed(0)
    model = build_model(kind, latent_dim=latent_dim)
    x = torch.rand(5, 1, 28, 28)
    z = model.encode(x)
    assert z.shape == (5, latent_dim)
    images = model.decode(torch.randn(7, latent_dim) * 10)
    assert images.shape == (7, 1, 28, 28)
    assert images.min() >= 0 and images.max() <= 1
    recon, losses = model(x)
    assert recon.shape == x.shape
    assert {"loss", "mse"} <= losses.keys()
    assert all(v.dim() == 0 and torch.isfinite(v) for v in losses.values())


def test_decoder_is_the_homeworks_with_the_padding_fix():
    conv = ConvAE().decoder.decoder_conv
    layers = [conv[0], conv[2], conv[4]]
    assert [(layer.in_channels, layer.out_channels) for layer in layers] == [(32, 16), (16, 8), (8, 1)]
    assert all(layer.kernel_size == (3, 3) and layer.stride == (2, 2) for layer in layers)
    assert [layer.padding for layer in layers] == [(0, 0), (1, 1), (1, 1)]
    assert [layer.output_padding for layer in layers] == [(0, 0), (1, 1), (1, 1)]


def test_vae_is_784_512_256_z():
    vae = VAE(latent_dim=2)
    shapes = [tuple(getattr(vae, name).weight.shape) for name in ("fc1", "fc2", "fc31", "fc32", "fc4", "fc5", "fc6")]
    assert shapes == [(512, 784), (256, 512), (2, 256), (2, 256), (256, 2), (512, 256), (784, 512)]


def test_ae_loss_is_mean_squared_error_per_pixel():
    model = ConvAE()
    last = model.decoder.decoder_conv[4]
    torch.nn.init.zeros_(last.weight)
    torch.nn.init.zeros_(last.bias)  # logits 0 -> every pixel decodes to 0.5
    recon, losses = model(torch.ones(3, 1, 28, 28))
    assert torch.allclose(recon, torch.full_like(recon, 0.5))
    assert losses["loss"].item() == pytest.approx(0.25)


def _fix_vae(vae: VAE, mu: float, log_var: float) -> None:
    """Make the posterior constant (mu, log_var) and every decoded logit 0."""
    for layer, value in ((vae.fc31, mu), (vae.fc32, log_var), (vae.fc6, 0.0)):
        torch.nn.init.zeros_(layer.weight)
        torch.nn.init.constant_(layer.bias, value)


def test_vae_loss_is_elbo_in_nats_per_image():
    vae = VAE(latent_dim=2)
    _fix_vae(vae, mu=1.0, log_var=0.0)
    x = (torch.rand(4, 1, 28, 28) > 0.5).float()
    _, losses = vae(x)
    # p = 0.5 everywhere: BCE is ln 2 per pixel, whatever x is
    assert losses["recon"].item() == pytest.approx(784 * math.log(2), rel=1e-5)
    # KL(N(1, 1) || N(0, 1)) = mu^2 / 2 per dimension
    assert losses["kl"].item() == pytest.approx(1.0, rel=1e-5)
    assert losses["loss"].item() == pytest.approx(784 * math.log(2) + 1.0, rel=1e-5)


def test_vae_eval_mse_decodes_the_posterior_mean():
    torch.manual_seed(0)
    vae = VAE().eval()
    x = torch.rand(6, 1, 28, 28)
    _, losses = vae(x)
    expected = torch.nn.functional.mse_loss(vae.decode(vae.encode(x)), x)
    assert losses["mse"].item() == pytest.approx(expected.item(), rel=1e-5)


def test_vae_kl_with_a_wider_posterior():
    vae = VAE(latent_dim=2)
    _fix_vae(vae, mu=1.0, log_var=1.0)
    _, losses = vae(torch.rand(3, 1, 28, 28))
    # KL(N(mu, e^lv) || N(0, 1)) = (mu^2 + e^lv - 1 - lv) / 2 per dimension: (e - 1) / 2 here
    assert losses["kl"].item() == pytest.approx(2 * (math.e - 1) / 2, rel=1e-5)


def test_the_log_variance_is_clamped_inside_the_posterior():
    from tui_ae.models import LOG_VAR_RANGE

    vae = VAE(latent_dim=2)
    for log_var, expected in ((500.0, LOG_VAR_RANGE[1]), (-500.0, LOG_VAR_RANGE[0])):
        _fix_vae(vae, mu=0.0, log_var=log_var)
        mu, got = vae.posterior(torch.rand(3, 1, 28, 28))
        assert torch.all(got == expected)  # what every user of sigma sees
        _, losses = vae(torch.rand(3, 1, 28, 28))
        assert all(torch.isfinite(v) for v in losses.values())  # exp(500) would be inf
