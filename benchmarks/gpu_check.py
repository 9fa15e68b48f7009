"""On a CUDA GPU: does the captured step train the same model as the eager one?

    python benchmarks/gpu_check.py --data-dir ../shared/data [--steps 200]

1. Same losses: with the same seed and bf16 off, the per-step losses of a captured run
   and an eager run over `--steps` steps (a one-cycle schedule, gradient clipping and,
   for the VAE, a KL warm-up, so every per-step input a graph reads changes), and their
   parameters afterwards. Two eager runs give the noise floor (cuDNN's and cuBLAS's
   kernels need not be bitwise deterministic). Goal: losses within 1e-4 relative.
2. bf16 on: the validation loss after one epoch of train(), captured against eager. Goal: within 1%.
3. Resume: two epochs of train() in one go, against one epoch and a resumed second,
   both captured: the AE's weights alike, the VAE's validation loss within its sampling noise.
   Then the AE again with torch.backends.cudnn.deterministic = True: is its resume exact then,
   and what does that cost in training images per second (epoch 2 of the whole runs)?
4. NaN: weights that turn NaN after epoch 1 stop a captured run in epoch 2 as on the CPU,
   keeping the checkpoint of epoch 1.
Every check prints PASS or FAIL and its figures; a check that breaks does not stop the others.
"""

from __future__ import annotations

import argparse
import tempfile
import traceback
from pathlib import Path

import torch

from tui_ae import checkpoint, data
from tui_ae.config import TrainConfig
from tui_ae.errors import NonFiniteLoss
from tui_ae.models import build_model
from tui_ae.optim import AdamW
from tui_ae.schedule import Schedule
from tui_ae.step import TrainStep, capture
from tui_ae.train import EpochDone, Started, train

DEVICE = torch.device("cuda")


def report(name: str, ok: bool, figures: str) -> None:
    print(f"{'PASS' if ok else 'FAIL'}  {name}: {figures}", flush=True)


def train_images(data_dir: Path) -> torch.Tensor:
    raw_dir, source = data.locate("mnist", data_dir, download=False)
    train_set, _ = data.train_val_split(data.read_split(raw_dir, "train", source))
    return train_set.images.to(DEVICE)


def index_batches(n: int, batch: int, steps: int) -> list[torch.Tensor]:
    generator = torch.Generator(device=DEVICE).manual_seed(0)
    batches: list[torch.Tensor] = []
    while len(batches) < steps:
        order = torch.randperm(n, device=DEVICE, generator=generator)
        batches += [b for b in order.split(batch) if len(b) == batch]
    return batches[:steps]


def run_steps(kind: str, images: torch.Tensor, batches: list[torch.Tensor], graphs: bool):
    """(per-step metrics (steps, metrics), parameters after) of one seeded run."""
    torch.manual_seed(0)
    model = build_model(kind).to(DEVICE).train()
    optimizer = AdamW(model.parameters(), 2e-3, 0.0, DEVICE)
    schedule = Schedule(2e-3, len(batches), one_cycle=True)  # as train() runs it: the lr in a device tensor
    step = TrainStep(model, optimizer, images, grad_clip=1.0, amp=False)
    run = capture(step, batches[0]) if graphs else step
    per_step = []
    for i, idx in enumerate(batches):
        if kind == "vae":
            model.kl_weight.fill_(min(1.0, (i + 1) / (len(batches) / 2)))
        optimizer.set(schedule.lr(i), schedule.beta1(i))
        run(idx)
        per_step.append(step.sums / len(idx))  # a new tensor: this step's metrics
        step.sums.zero_()  # in place: a captured graph adds into this very tensor
    return torch.stack(per_step).cpu(), [p.detach().cpu().clone() for p in model.parameters()]


def same_losses(kind: str, images: torch.Tensor, steps: int) -> None:
    batches = index_batches(len(images), 256, steps)
    eager_a, params_a = run_steps(kind, images, batches, graphs=False)
    eager_b, params_b = run_steps(kind, images, batches, graphs=False)
    graph, params_g = run_steps(kind, images, batches, graphs=True)
    loss = slice(None), 0

    def rel(a, b):
        return ((a - b).abs() / b.abs().clamp_min(1e-12)).max().item()

    def params_rel(a, b):
        return max(((x - y).norm() / y.norm().clamp_min(1e-12)).item() for x, y in zip(a, b))

    floor, diff = rel(eager_b[loss], eager_a[loss]), rel(graph[loss], eager_a[loss])
    params_floor, params_diff = params_rel(params_b, params_a), params_rel(params_g, params_a)
    report(f"{kind.upper()} same losses, {steps} steps, bf16 off",
           diff <= 1e-4 and torch.isfinite(graph).all().item(),
           f"max rel. loss diff graph vs eager {diff:.2e} (eager vs eager {floor:.2e}); "
           f"params rel. diff {params_diff:.2e} (eager vs eager {params_floor:.2e}); "
           f"loss {eager_a[0, 0].item():.4g} -> {eager_a[-1, 0].item():.4g}")  # fmt: skip


def config(tmp: Path, name: str, kind: str, data_dir: Path, **overrides) -> TrainConfig:
    settings = dict(model=kind, data_dir=data_dir, device="cuda", out=tmp / f"{name}.safetensors")
    return TrainConfig(**{**settings, **overrides})


def events(cfg: TrainConfig, notices: list[str] | None = None) -> list:
    return list(train(cfg, notify=(notices.append if notices is not None else print)))


def bf16_agrees(kind: str, data_dir: Path, tmp: Path) -> None:
    notices: list[str] = []
    graph = events(config(tmp, f"{kind}-bf16-g", kind, data_dir, epochs=1, amp=True), notices)
    eager = events(config(tmp, f"{kind}-bf16-e", kind, data_dir, epochs=1, amp=True, cuda_graphs=False))
    g, e = graph[-1].val["loss"], eager[-1].val["loss"]
    report(f"{kind.upper()} bf16 one epoch", graph[0].cuda_graphs and abs(g - e) / e <= 0.01 and not notices,
           f"val loss graph {g:.6g}, eager {e:.6g}, rel. diff {abs(g - e) / e:.2e}; captured {graph[0].cuda_graphs}; "
           f"notices {notices}")  # fmt: skip


def resume_continues(kind: str, data_dir: Path, tmp: Path, label: str = "") -> float:
    """Whole runs twice (their spread is the noise: cuDNN's float32 kernels are not all bitwise
    deterministic, and 1,500 steps at lr 1e-2 amplify their last bits), against one epoch and a resume.
    Returns the first whole run's training images per second in its epoch 2."""
    name = f"{kind}{label}"
    whole = events(config(tmp, f"{name}-whole", kind, data_dir, recipe="best", epochs=2))
    again = events(config(tmp, f"{name}-again", kind, data_dir, recipe="best", epochs=2))
    for event in train(config(tmp, f"{name}-parts", kind, data_dir, recipe="best", epochs=2), notify=print):
        if isinstance(event, EpochDone):
            break
    resumed = events(config(tmp, f"{name}-parts", kind, data_dir, resume=True))

    def weights_diff(other: str) -> float:
        a, _, _ = checkpoint.load(tmp / f"{name}-whole.safetensors")
        b, _, _ = checkpoint.load(tmp / f"{name}-{other}.safetensors")
        return max((x - y).abs().max().item() for x, y in zip(a.state_dict().values(), b.state_dict().values()))

    diff, noise = weights_diff("parts"), weights_diff("again")
    vw, va, vr = whole[-1].val["loss"], again[-1].val["loss"], resumed[-1].val["loss"]
    ok = resumed[0].cuda_graphs and checkpoint.read_header(tmp / f"{name}-parts.safetensors").meta["epochs_done"] == 2
    exact = kind == "ae" and noise == 0  # then the resumed run must be exact too
    ok = ok and (diff == 0 if exact else abs(vw - vr) / vw <= max(0.01, 2 * abs(vw - va) / vw))
    rate = checkpoint.read_header(tmp / f"{name}-whole.safetensors").meta["history"][-1]["images_per_second"]
    report(f"{kind.upper()}{label} resume, best recipe, 1 + 1 epochs", ok,
           f"weights max abs diff resumed {diff:.2e} (two whole runs: {noise:.2e}); val loss whole {vw:.6g}, "
           f"again {va:.6g}, resumed {vr:.6g}; resumed captured {resumed[0].cuda_graphs}; "
           f"epoch 2 at {rate:,} img/s")  # fmt: skip
    return rate


def deterministic_resume(data_dir: Path, tmp: Path, default_rate: float | None) -> None:
    """The AE's resume with cuDNN's deterministic kernels: exact, and at what cost in throughput."""
    torch.backends.cudnn.deterministic = True
    try:
        rate = resume_continues("ae", data_dir, tmp, label=" cudnn.deterministic")
    finally:
        torch.backends.cudnn.deterministic = False
    cost = f"{rate / default_rate:.3f}x the default's {default_rate:,} img/s" if default_rate else "no default rate"
    print(f"      cudnn.deterministic: epoch 2 at {rate:,} img/s, {cost}", flush=True)


def nan_stops(data_dir: Path, tmp: Path) -> None:
    real_contents = checkpoint.contents

    def save_then_diverge(model, *args, **kwargs):
        saved = real_contents(model, *args, **kwargs)
        with torch.no_grad():
            for p in model.parameters():
                p.fill_(float("nan"))
        return saved

    checkpoint.contents = save_then_diverge
    started = []
    try:
        for event in train(config(tmp, "nan", "ae", data_dir, epochs=3), notify=print):
            if isinstance(event, Started):
                started.append(event)
        report("NaN stops a captured run", False, "no NonFiniteLoss raised")
    except NonFiniteLoss as e:
        header = checkpoint.read_header(tmp / "nan.safetensors")
        ok = started[0].cuda_graphs and "epoch 2" in str(e) and header.meta["epochs_done"] == 1
        report("NaN stops a captured run", ok, f"{e} (checkpoint epochs_done {header.meta['epochs_done']})")
    finally:
        checkpoint.contents = real_contents


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args()
    print(f"{torch.cuda.get_device_name()}; torch {torch.__version__}", flush=True)
    images = train_images(args.data_dir)
    rates: list[float] = []  # the AE's default resume run's, for the deterministic one's cost
    with tempfile.TemporaryDirectory() as tmp:
        checks = [
            lambda: same_losses("ae", images, args.steps),
            lambda: same_losses("vae", images, args.steps),
            lambda: bf16_agrees("ae", args.data_dir, Path(tmp)),
            lambda: bf16_agrees("vae", args.data_dir, Path(tmp)),
            lambda: rates.append(resume_continues("ae", args.data_dir, Path(tmp))),
            lambda: deterministic_resume(args.data_dir, Path(tmp), rates[0] if rates else None),
            lambda: resume_continues("vae", args.data_dir, Path(tmp)),
            lambda: nan_stops(args.data_dir, Path(tmp)),
        ]
        for check in checks:
            try:
                check()
            except Exception:
                print("FAIL  (raised)\n" + traceback.format_exc(limit=6), flush=True)


if __name__ == "__main__":
    main()
