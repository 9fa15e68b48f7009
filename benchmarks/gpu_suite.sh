#!/usr/bin/env bash
# Every GPU figure in BENCHMARKS.md, in one run: a lent GPU's time is short, so nothing here installs
# anything, and each step has a timeout of its own so that one hang cannot take the others with it.
#   bash benchmarks/gpu_suite.sh DATA_DIR [OUT_DIR]
# Needs torch, torchvision, rich, typer, numpy and safetensors (no textual); runs the package from this
# checkout. Full logs go to OUT_DIR; the console gets the figures.
set -u
data=${1:?usage: gpu_suite.sh DATA_DIR [OUT_DIR]}
out=${2:-${OUT:-/tmp/gpu-suite}}
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

step 240 'PASS|FAIL|Error|error' python benchmarks/gpu_check.py --data-dir "$data"
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
step 120 'AE|VAE|rror|real' bash -c "time python -m tui_ae eval $out/ae-best.safetensors $out/vae-best.safetensors --data-dir $data"
rm -f "$out/step.out"  # the best-recipe checkpoints stay in OUT_DIR
