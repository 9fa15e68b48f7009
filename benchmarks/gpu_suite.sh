#!/usr/bin/env bash
# Every GPU figure in BENCHMARKS.md, in one run: a lent GPU's time is short, so nothing here installs
# anything, and each step has a timeout of its own so that one hang cannot take the others with it.
# Issue 16's figures: train --model ae (10 epochs) wall time (train_wall.py), --recipe best for each model
# (the timed runs), throughput at batch 256 and 64 (train_speed.py), the AE's best validation MSE (read
# from its checkpoint), cudnn.deterministic's resume and its cost (gpu_check.py), and whether a CUDA run
# imports torch._dynamo (first_step.py --to-the-end, which also times the start up to the first step).
#   bash benchmarks/gpu_suite.sh DATA_DIR [OUT_DIR] [PART]
# PART 1 runs the checks (gpu_check.py, first_step.py), PART 2 the timings and the best-recipe runs; both by
# default. A part takes a few minutes on an H100, so each fits one command of a lent machine's 10.
# Needs torch, torchvision, rich, typer, numpy and safetensors (no textual); runs the package from this
# checkout. Full logs go to OUT_DIR; the console gets the figures.
set -u
data=${1:?usage: gpu_suite.sh DATA_DIR [OUT_DIR] [PART]}
out=${2:-${OUT:-/tmp/gpu-suite}}
part=${3:-all}
mkdir -p "$out"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
log=$out/suite.log

step() {  # step SECONDS FILTER COMMAND...: run with a timeout, log it all, print what FILTER keeps
  local limit=$1 filter=$2
  shift 2
  echo "### $*" | tee -a "$log"
  local started=$SECONDS
  timeout "$limit" "$@" >"$out/step.out" 2>&1
  local rc=$?
  cat "$out/step.out" >>"$log"
  grep -E "$filter" "$out/step.out" | cut -c1-400
  echo "### rc=$rc after $((SECONDS - started)) s" | tee -a "$log"
}

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee -a "$log"
python -c "import torch, sys; print('python', sys.version.split()[0], 'torch', torch.__version__, torch.cuda.get_device_name())" | tee -a "$log"

if [[ $part == all || $part == 1 ]]; then
step 420 'PASS|FAIL|Error|error|deterministic' python benchmarks/gpu_check.py --data-dir "$data"
step 120 'median|imported|rror' python benchmarks/first_step.py --data-dir "$data" --device cuda --runs 3 --to-the-end
fi
[[ $part == all || $part == 2 ]] || exit 0
step 120 'device|img/s|x |epochs of' python benchmarks/train_speed.py --data-dir "$data" --model ae --device cuda
step 120 'device|img/s|x |epochs of' python benchmarks/train_speed.py --data-dir "$data" --model vae --device cuda
step 90 'device|img/s|x |epochs of' python benchmarks/train_speed.py --data-dir "$data" --model ae --device cuda --batch-size 64 --peers
step 150 'wall|run on|  ' python benchmarks/train_wall.py --data-dir "$data" --model ae --runs 3
step 90 'on cuda|median|mean|forward|builds|collections|redraw' \
  python benchmarks/preview_cost.py --data-dir "$data" --model vae --epochs 41 --every 10 --device cuda
for model in ae vae; do
  step 120 'Epoch (1|10|20|40|60|80|100)/|Checkpoint|rror|capture|real' \
    bash -c "time python -m tui_ae train --model $model --recipe best --data-dir $data --out $out/$model-best.safetensors --force"
done
step 30 'validation MSE|rror' python -c "
import sys
from tui_ae.checkpoint import read_header
for path in sys.argv[1:]:
    history = read_header(path).meta['history']
    best = min(history, key=lambda h: h['val']['mse'])
    print(f\"{path}: best validation MSE {best['val']['mse']:.5f} (epoch {best['epoch']}), last {history[-1]['val']['mse']:.5f}\")
" "$out/ae-best.safetensors" "$out/vae-best.safetensors"
step 120 'AE|VAE|rror|real' bash -c "time python -m tui_ae eval $out/ae-best.safetensors $out/vae-best.safetensors --data-dir $data"
rm -f "$out/step.out"  # the best-recipe checkpoints stay in OUT_DIR
