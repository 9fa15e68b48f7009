#!/usr/bin/env bash
# Issue 15's goal: does `tui-ae train` learn as well offline as online? For both models and seeds 0, 1 and 2:
# offline, the MNIST tui-ae ships (an empty cache, no --data-dir: the first run unpacks it); online-equivalent,
# --data-dir on real MNIST (the bytes torchvision downloads). Each run in a folder of its own, with no other
# option but --seed; each checkpoint scored by `tui-ae eval --data-dir` on real MNIST; then each pair's weights
# compared.
#
#   benchmarks/offline_online.sh ../shared/data /tmp/offline-online     (from the repository root)
#
# One torch thread (OMP_NUM_THREADS=1): on the shared 2-core machine, two spin-waited on each other (an epoch of
# the AE took 998 s instead of 30). Twelve runs of half a minute to a few minutes, with nice -n 10.
set -u
data_dir=$(realpath "$1")
out=$(realpath -m "$2")
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
export OMP_NUM_THREADS=1
rm -rf "$out" && mkdir -p "$out"
for model in ae vae; do
  for seed in 0 1 2; do
    seeded=(); [ "$seed" != 0 ] && seeded=(--seed "$seed")
    for mode in offline online; do
      run=$out/$mode-$model-s$seed && mkdir -p "$run"
      if [ $mode = offline ]; then given=(); else given=(--data-dir "$data_dir"); fi
      echo "== $(date -u +%H:%M:%S) load $(cut -d' ' -f1 /proc/loadavg): $mode: tui-ae train --model $model ${seeded[*]} ${given[*]}"
      (cd "$run" && TUI_AE_DATA=$out/cache nice -n 10 python -m tui_ae train --model $model "${seeded[@]}" "${given[@]}" \
        > train.log 2>&1 && head -2 train.log && TUI_AE_DATA=$out/cache nice -n 10 python -m tui_ae eval \
        checkpoints/$model.safetensors --data-dir "$data_dir" | grep -E '^ (data|MSE|-ELBO|recon|KL|kNN) ')
    done
  done
done
python - "$out" <<'PY'
import sys
from pathlib import Path
from safetensors import safe_open
for offline in sorted(Path(sys.argv[1]).glob("offline-*")):
    online, model = offline.with_name(offline.name.replace("offline", "online")), offline.name.split("-")[1]
    a, b = (safe_open(str(run / "checkpoints" / f"{model}.safetensors"), "numpy") for run in (offline, online))
    names = [k for k in a.keys() if k.startswith("model/")]
    same = all((a.get_tensor(k) == b.get_tensor(k)).all() for k in names)
    print(f"{offline.name} and {online.name}: {len(names)} weight tensors, {'identical' if same else 'DIFFERENT'}")
PY
