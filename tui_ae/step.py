"""One optimisation step, run eagerly or replayed from a captured CUDA graph.

A model this small is bound by kernel launches on a GPU, not by arithmetic: an eager
step of the AE spends milliseconds of Python and launches on microseconds of maths.
So on CUDA the whole step (forward, loss, backward, clipping, AdamW and the running
sums of the metrics) is captured once as a CUDA graph, and each step is one replay
(PyTorch's "whole-network capture"). The eager path runs the very same TrainStep, on
the CPU, on MPS, with --no-cuda-graphs, and for an epoch's last, partial batch.

What a graph needs, and how it is met here:
- Fixed addresses: the batch's indices are copied into a static buffer before each
  replay, and the images are gathered inside the graph from the split held on the device.
- Values that change between steps live in device tensors the graph reads: the
  learning rate (optim.AdamW, fused and capturable on CUDA, fills its lr tensor in
  place) and the VAE's KL weight. Adam's beta1 is read at capture: it must not change.
- No host syncs: the metrics accumulate on the device; the loop reads them every few steps.
- The VAE's noise: torch.randn inside a graph draws fresh numbers on each replay, from
  the same Philox stream an eager run uses.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from tui_ae.optim import AdamW

Metrics = dict[str, float]


@dataclass
class Snapshot:
    """What warm-up steps change, to undo them: weights, optimizer state, the CUDA RNG."""

    params: list[torch.Tensor]
    optimizer_state: list[torch.Tensor]  # AdamW.state_tensors()
    rng: torch.Tensor  # the state of the device's default generator (the VAE's noise)


class TrainStep:
    """One step on the batch images[idx]: its metrics are added, times the batch size, into `sums`."""

    def __init__(
        self,
        model: nn.Module,
        optimizer: AdamW,
        images: torch.Tensor,  # (N, 28, 28) uint8, on the device
        *,
        grad_clip: float = 0.0,
        amp: bool = False,
        forward: nn.Module | None = None,  # the model, or torch.compile of it
    ) -> None:
        self.model, self.optimizer, self.images = model, optimizer, images
        self.forward = forward if forward is not None else model
        self.grad_clip = grad_clip
        self.names: tuple[str, ...] = model.METRICS
        device = images.device
        self.sums = torch.zeros(len(self.names), device=device)  # (metrics,)
        # bf16 on CUDA only; the weight-cast cache must be off inside a captured graph.
        bf16 = amp and device.type == "cuda"
        self.autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16, cache_enabled=False)

    def __call__(self, idx: torch.Tensor) -> None:
        x = self.images[idx].unsqueeze(1).float().div_(255)  # (B, 1, 28, 28)
        self.optimizer.zero_grad()
        with self.autocast:
            _, losses = self.forward(x)
        losses["loss"].backward()
        if self.grad_clip:
            nn.utils.clip_grad_norm_(self.model.parameters(), self.grad_clip)  # no host sync
        self.optimizer.step()
        self.sums.add_(torch.stack([losses[name].detach().float() for name in self.names]) * len(idx))

    def means(self, images: int) -> Metrics:
        """The running means over `images` images since the sums were zeroed. A host sync: call it to report."""
        return dict(zip(self.names, (self.sums / images).tolist()))

    def snapshot(self) -> Snapshot:
        state = [tensor.clone() for tensor in self.optimizer.state_tensors()]
        rng = torch.cuda.get_rng_state(self.images.device) if self.images.is_cuda else torch.get_rng_state()
        return Snapshot([p.detach().clone() for p in self.model.parameters()], state, rng)

    @torch.no_grad()
    def restore(self, snapshot: Snapshot) -> None:
        """Back to the snapshot, in place (a captured graph holds these tensors' addresses)."""
        for param, saved in zip(self.model.parameters(), snapshot.params):
            param.copy_(saved)
        for tensor, saved in zip(self.optimizer.state_tensors(), snapshot.optimizer_state):
            tensor.copy_(saved)
        self.sums.zero_()
        if self.images.is_cuda:
            torch.cuda.set_rng_state(snapshot.rng, self.images.device)
        else:
            torch.set_rng_state(snapshot.rng)


class GraphedStep:
    """A TrainStep captured as a CUDA graph: a full batch is one replay, a partial one runs eagerly."""

    def __init__(self, step: TrainStep, graph: torch.cuda.CUDAGraph, static_idx: torch.Tensor) -> None:
        self.step, self.graph, self.static_idx = step, graph, static_idx

    def __call__(self, idx: torch.Tensor) -> None:
        if idx.shape != self.static_idx.shape:
            self.step(idx)  # the epoch's last batch, when the batch size does not divide the split
            return
        self.static_idx.copy_(idx)
        self.graph.replay()


def capture(step: TrainStep, idx: torch.Tensor, warmups: int = 3) -> GraphedStep:
    """Capture one step on batches shaped like idx, leaving the model and optimizer as they were.

    The warm-up steps before the capture are real updates, so they are undone afterwards,
    and also when the capture fails: a captured run and an eager one with the same seed
    see the same updates, and a run that falls back to eager starts where it stood.
    """
    before = step.snapshot()
    try:
        graph, static_idx = record(step, idx, warmups)
    finally:
        step.restore(before)
    return GraphedStep(step, graph, static_idx)


# The two seams a CPU test replaces to reach capture() and the loop around it.
def graphs_available(device: torch.device) -> bool:
    return device.type == "cuda"


def record(step: TrainStep, idx: torch.Tensor, warmups: int) -> tuple[torch.cuda.CUDAGraph, torch.Tensor]:
    """Warm up on a side stream, then capture one step on a static copy of idx (PyTorch's recipe).

    The warm-ups create Adam's state and let cuDNN and cuBLAS set themselves up outside the capture.
    """
    side = torch.cuda.Stream(idx.device)
    side.wait_stream(torch.cuda.current_stream(idx.device))
    with torch.cuda.stream(side):
        for _ in range(warmups):
            step(idx)
    torch.cuda.current_stream(idx.device).wait_stream(side)
    static_idx = idx.clone()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph, stream=side):  # the warm-ups' stream, whose library handles are set up
        step(static_idx)  # its zero_grad (to None) lets backward allocate the gradients in the graph's pool
    return graph, static_idx
