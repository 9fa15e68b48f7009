"""The homework's two models behind one interface.

Source: the homework, "Neural Networks and Deep Learning 2021-22" (Menglu Tao): a
convolutional autoencoder (Figures 1-2) and an MLP variational autoencoder (Figure 5,
after Kingma & Welling, "Auto-Encoding Variational Bayes", 2014).

Both models offer what the trainer and the explorer need, so neither branches
on the model kind:
    forward(x)      -> (recon, losses)   losses["loss"] is what the optimiser minimises;
                                         losses has one scalar per name in METRICS
    code_layer      the module whose output, in forward() as in encode(), is the code: so one
                    validation pass can give the losses and the codes (evaluation.py)

and inference, without gradients, in one place (as nanoGPT's GPT.generate()): the explorer,
`tui-ae figures`, eval and the training preview all call these.
    encode(x)       -> codes (B, latent_dim); the VAE's posterior mean
    decode(z)       -> images (B, 1, 28, 28) in [0, 1]
    reconstruct(x)  -> Reconstruction: the codes, their decodings and the VAE's posterior σ

x is (B, 1, 28, 28) in [0, 1]. forward() never calls them: training needs its gradients.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from tui_ae.config import ModelName

LOG_VAR_RANGE = (-30.0, 20.0)  # the VAE's log-variance, clamped so that exp() can neither overflow nor vanish
Losses = dict[str, torch.Tensor]


@dataclass
class Reconstruction:
    """Images encoded and decoded again, with what the encoding was."""

    codes: torch.Tensor  # (B, latent_dim): the AE's codes, the VAE's posterior means
    images: torch.Tensor  # (B, 1, 28, 28) in [0, 1]: the codes decoded
    sigma: torch.Tensor | None  # (B, latent_dim): the VAE's posterior standard deviations; None for the AE


class Encoder(nn.Module):
    """Figure 1 of the homework, unchanged."""

    def __init__(self, encoded_space_dim: int):
        super().__init__()
        self.encoder_cnn = nn.Sequential(
            nn.Conv2d(1, 8, kernel_size=3, stride=2, padding=1),
            nn.ReLU(True),
            nn.Conv2d(8, 16, kernel_size=3, stride=2, padding=1),
            nn.ReLU(True),
            nn.Conv2d(16, 32, kernel_size=3, stride=2, padding=0),
            nn.ReLU(True),
        )
        self.flatten = nn.Flatten(start_dim=1)
        self.encoder_lin = nn.Sequential(
            nn.Linear(3 * 3 * 32, 64),
            nn.ReLU(True),
            nn.Linear(64, encoded_space_dim),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.encoder_cnn(x)  # (B, 32, 3, 3)
        return self.encoder_lin(self.flatten(x))  # (B, z)


class Decoder(nn.Module):
    """Figure 2 of the homework, with one fix.

    As printed, the three transposed convolutions give 3 -> 7 -> 16 -> 34 pixels,
    not 28. The last two layers need padding=1 (3 -> 7 -> 14 -> 28); everything
    else is exactly as printed.
    """

    def __init__(self, encoded_space_dim: int):
        super().__init__()
        self.decoder_lin = nn.Sequential(
            nn.Linear(encoded_space_dim, 64),
            nn.ReLU(True),
            nn.Linear(64, 3 * 3 * 32),
            nn.ReLU(True),
        )
        self.unflatten = nn.Unflatten(dim=1, unflattened_size=(32, 3, 3))
        self.decoder_conv = nn.Sequential(
            nn.ConvTranspose2d(32, 16, kernel_size=3, stride=2, output_padding=0),
            nn.ReLU(True),
            nn.ConvTranspose2d(16, 8, kernel_size=3, stride=2, padding=1, output_padding=1),  # padding=1: the fix
            nn.ReLU(True),
            nn.ConvTranspose2d(8, 1, kernel_size=3, stride=2, padding=1, output_padding=1),  # padding=1: the fix
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Logits; the homework's sigmoid is applied by the model's decode()."""
        x = self.unflatten(self.decoder_lin(z))  # (B, 32, 3, 3)
        return self.decoder_conv(x)  # (B, 1, 28, 28)


class ConvAE(nn.Module):
    """The homework's autoencoder, trained on per-pixel MSE (its MSELoss())."""

    kind: ModelName = "ae"
    METRICS = ("loss", "mse")

    def __init__(self, latent_dim: int = 2):
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = Encoder(latent_dim)
        self.decoder = Decoder(latent_dim)

    @property
    def code_layer(self) -> nn.Module:
        return self.encoder

    def _images(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.decoder(z).float())  # float: under bf16 autocast, 1 - 1e-3 rounds to 1

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    @torch.no_grad()
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self._images(z)

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> Reconstruction:
        codes = self.encoder(x)
        return Reconstruction(codes, self._images(codes), None)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, Losses]:
        recon = self._images(self.encoder(x))
        mse = F.mse_loss(recon.float(), x.float())
        return recon, {"loss": mse, "mse": mse}


class VAE(nn.Module):
    """The homework's MLP VAE (784-512-256-z), layer names as printed.

    The loss is the negative ELBO per image in nats: Bernoulli reconstruction
    (binary cross-entropy summed over the 784 pixels) plus KL(q(z|x) || N(0, I)),
    the KL weighted by kl_weight in training (--beta, times a warm-up's ramp; 1 by default).
    BCE is taken on the decoder's logits, which equals the homework's sigmoid
    followed by BCE but is stable, and safe under autocast.
    """

    kind: ModelName = "vae"
    METRICS = ("loss", "recon", "kl", "mse")

    def __init__(self, latent_dim: int = 2, x_dim: int = 784, h_dim1: int = 512, h_dim2: int = 256):
        super().__init__()
        self.latent_dim = latent_dim
        # beta (1 by default) times a warm-up's ramp; evaluation always uses 1. A tensor rather
        # than a float, so that a training step captured as a CUDA graph reads each new value.
        self.register_buffer("kl_weight", torch.ones(()), persistent=False)
        # encoder part
        self.fc1 = nn.Linear(x_dim, h_dim1)
        self.fc2 = nn.Linear(h_dim1, h_dim2)
        self.fc31 = nn.Linear(h_dim2, latent_dim)
        self.fc32 = nn.Linear(h_dim2, latent_dim)
        # decoder part
        self.fc4 = nn.Linear(latent_dim, h_dim2)
        self.fc5 = nn.Linear(h_dim2, h_dim1)
        self.fc6 = nn.Linear(h_dim1, x_dim)

    @property
    def code_layer(self) -> nn.Module:
        return self.fc31  # the posterior mean

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = F.relu(self.fc1(x.flatten(1)))
        h = F.relu(self.fc2(h))
        return self.fc31(h), self.fc32(h).clamp(*LOG_VAR_RANGE)  # mu, log_var: (B, z) each

    def decoder_logits(self, z: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.fc4(z))
        h = F.relu(self.fc5(h))
        return self.fc6(h).view(-1, 1, 28, 28)

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.posterior(x)[0]

    @torch.no_grad()
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.decoder_logits(z))

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> Reconstruction:
        mu, log_var = self.posterior(x)
        return Reconstruction(mu, torch.sigmoid(self.decoder_logits(mu)), torch.exp(0.5 * log_var))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, Losses]:
        mu, log_var = self.posterior(x)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * log_var)  # reparameterisation
        logits = self.decoder_logits(z).float()
        x = x.float()
        batch = x.shape[0]
        recon_nats = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / batch
        mu, log_var = mu.float(), log_var.float()  # the KL in float32, also under autocast
        kl = -0.5 * torch.sum(1 + log_var - mu.pow(2) - log_var.exp()) / batch
        # Per-pixel MSE of the posterior mean's decoding, so AE and VAE compare on one
        # scale; in training the sample's decoding is close enough and costs nothing.
        recon = torch.sigmoid(logits) if self.training else torch.sigmoid(self.decoder_logits(mu)).float()
        mse = F.mse_loss(recon, x).detach()
        kl_weight = self.kl_weight if self.training else 1.0
        return recon, {"loss": recon_nats + kl_weight * kl, "recon": recon_nats, "kl": kl, "mse": mse}


MODELS: dict[str, type[ConvAE] | type[VAE]] = {model.kind: model for model in (ConvAE, VAE)}


def build_model(kind: str, **model_args) -> ConvAE | VAE:
    return MODELS[kind](**model_args)
