#!/usr/bin/env bash
# Prepare a GPU run of bench/lm_cuda_check.py. The GPU machine (see the device tool's README) has
# Python 3.12 with torch, numpy, numba, scipy, scikit-learn, safetensors, matplotlib and tqdm, and
# cannot reach a package index. This writes, git-ignored:
#   .whl/                        kcomp's other runtime dependencies as CPython 3.12 wheels
#   bench/.device/held_out.txt   4 MiB of held-out English (needs $KCOMP_DATA or ../shared/data)
# Then, with the device tool: carry [".whl", "bench/.device"], command
#   python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl \
#     && export PYTHONPATH=/tmp/site:. PYTHONUNBUFFERED=1 \
#     && python3 bench/lm_cuda_check.py --input bench/.device/held_out.txt \
#     && cp bench/results/lm_cuda_check.json $OUT/
set -euo pipefail
cd "$(dirname "$0")/.."
platforms=()
for p in manylinux_2_28 manylinux_2_27 manylinux_2_24 manylinux_2_17 manylinux2014 manylinux1; do
    platforms+=(--platform "${p}_x86_64")
done
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    "${platforms[@]}" -d .whl zstandard==0.25.0 backports.zstd==1.8.0 brotli==1.2.1 lz4==4.4.5 \
    pyppmd==1.3.1 constriction==0.5.0 datasketch==2.0.0
ls -la .whl
python3 bench/lm_cuda_check.py --write-input bench/.device/held_out.txt
