"""AdamW on state this module owns, stepped by torch's functional AdamW.

Why not torch.optim.AdamW: an Optimizer's add_param_group, zero_grad, state_dict and
load_state_dict are wrapped by torch._disable_dynamo, and its step by a wrapper, that import
torch._dynamo on their first call (1.6 s on a 2-core CPU, 6 to 7.6 s on the H100 machine,
before the first step: BENCHMARKS.md). torch.optim.adamw.adamw, the function that
torch.optim.AdamW.step calls, imports nothing unless it runs under torch.compile, and takes
the same arguments from torch 2.6 (where AdamW had its own implementation) to today's (where
it calls adam() with decoupled_weight_decay=True). So the arithmetic is torch's own.

On CUDA the step is fused and capturable, as a captured CUDA graph needs: the step counts
live on the device, and the lr is a device tensor that set() fills in place (the graph
reads it through its address). The fused kernel takes beta1 as a number, read once at
capture: a captured run's beta1 cannot change (train.py resumes a run whose beta1 does,
eagerly). torch's foreach kernel cannot follow a device beta1 either: it makes a Python
number of it (.item(), twice a step, as a TorchDispatchMode shows at torch 2.14.1), a host
sync that a capture forbids.

state_dict() has torch.optim.AdamW's layout (state per parameter index: step, exp_avg,
exp_avg_sq; one param group), which checkpoints store as they always have.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.optim.adamw import adamw

from tui_ae.schedule import BETA1

BETA2, EPS = 0.999, 1e-8  # torch's defaults, as every run so far used
STATE_KEYS = ("step", "exp_avg", "exp_avg_sq")


class AdamW:
    """AdamW (Adam when weight_decay is 0) over a model's parameters; its state made at once, as zeros."""

    def __init__(self, params, lr: float, weight_decay: float, device: torch.device) -> None:
        self.params: list[nn.Parameter] = list(params)
        self.weight_decay = weight_decay
        self.on_cuda = device.type == "cuda"  # fused and capturable there; the single-tensor step elsewhere
        self.lr: torch.Tensor | float = torch.tensor(lr, dtype=torch.float32, device=device) if self.on_cuda else lr
        self.lr_value, self.beta1 = lr, BETA1  # as set() last set them
        steps_on = device if self.on_cuda else torch.device("cpu")  # where torch's AdamW keeps them
        self.steps = [torch.zeros((), dtype=torch.float32, device=steps_on) for _ in self.params]
        self.exp_avgs = [torch.zeros_like(p, memory_format=torch.preserve_format) for p in self.params]
        self.exp_avg_sqs = [torch.zeros_like(p, memory_format=torch.preserve_format) for p in self.params]

    def set(self, lr: float, beta1: float) -> None:
        """This step's hyper-parameters: on CUDA the lr is filled into its tensor in place (a kernel, no host
        sync), and only when it changes (a constant lr then costs the steps nothing)."""
        if isinstance(self.lr, torch.Tensor):
            if lr != self.lr_value:
                self.lr.fill_(lr)
        else:
            self.lr = lr
        self.lr_value, self.beta1 = lr, beta1

    def zero_grad(self) -> None:
        """Drop the gradients (set_to_none: backward allocates them afresh, in a graph's pool when captured)."""
        for p in self.params:
            p.grad = None

    @torch.no_grad()  # the update writes into leaf tensors that require grad
    def step(self) -> None:
        grads = [p.grad for p in self.params]
        hyper = dict(lr=self.lr, beta1=self.beta1, beta2=BETA2, eps=EPS, weight_decay=self.weight_decay)
        kernel = dict(foreach=False, fused=self.on_cuda, capturable=self.on_cuda, amsgrad=False, maximize=False)
        adamw(self.params, grads, self.exp_avgs, self.exp_avg_sqs, [], self.steps, **kernel, **hyper)

    def state_tensors(self) -> list[torch.Tensor]:
        """Every tensor of the state, in a fixed order: what a snapshot copies and a restore writes back."""
        return [*self.steps, *self.exp_avgs, *self.exp_avg_sqs]

    def state_dict(self) -> dict[str, Any]:
        """torch.optim.AdamW's layout: {"state": {index: {step, exp_avg, exp_avg_sq}}, "param_groups": [group]}."""
        state = {i: dict(zip(STATE_KEYS, tensors)) for i, tensors in enumerate(self._per_param())}
        flags = dict(amsgrad=False, maximize=False, foreach=False, differentiable=False, decoupled_weight_decay=True)
        group = dict(lr=self.lr_value, betas=(self.beta1, BETA2), eps=EPS, weight_decay=self.weight_decay, **flags)
        group.update(capturable=self.on_cuda, fused=self.on_cuda, params=list(range(len(self.params))))
        return {"state": state, "param_groups": [group]}

    @torch.no_grad()
    def load_state_dict(self, saved: dict[str, Any]) -> None:
        """Copy a saved state (this layout, as any AdamW or Adam wrote it) into this one's tensors, on its devices.

        Raises ValueError, naming what does not fit, before changing anything. The saved
        group's flags (fused, capturable, foreach) described the run that wrote it and are
        not taken; the lr and beta1 come from the schedule, which set() applies each step.
        """
        state = saved["state"]
        if sorted(state) != list(range(len(self.params))):
            raise ValueError(f"its optimizer state has {len(state)} parameters, the model {len(self.params)}")
        for index, mine in enumerate(self._per_param()):
            entry = state[index]
            if not all(key in entry for key in STATE_KEYS):
                raise ValueError(f"its optimizer state of parameter {index} lacks one of {', '.join(STATE_KEYS)}")
            for key, tensor in zip(STATE_KEYS, mine):
                saved, wanted = tuple(entry[key].shape), tuple(tensor.shape)
                if saved != wanted:
                    raise ValueError(f"its optimizer's {key} of parameter {index} has shape {saved}, not {wanted}")
        for index, mine in enumerate(self._per_param()):
            for key, tensor in zip(STATE_KEYS, mine):
                tensor.copy_(state[index][key])

    def _per_param(self) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        return list(zip(self.steps, self.exp_avgs, self.exp_avg_sqs))
