"""tui-ae: train an AE and a VAE on MNIST and walk their latent spaces in the terminal."""

__version__ = "0.1.0"
