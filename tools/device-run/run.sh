#!/usr/bin/env bash
# The one command of a device run (and of its CPU dry run): unpacks what pack.mjs put in .device/, checks the GPU,
# then runs bench.py: a Qwen3-architecture teacher with random weights built and exported to ONNX here, (a) the seed's
# PyTorch pipeline, (b) logitpack's CLI on the best provider it loads, (c) forward only in each, and the nucleus
# agreement between (a) and (b). Results (results.json, results.md, stages.log, env.txt) go to $OUT (or --out).
#
#   tools/device-run/run.sh [--cpu] [--size tiny|0.6b|1.7b] [--examples N] [--onnx-dtype fp32|fp16]
#                           [--thresholds JSON] [--chunk N] [--logitpack-minutes M] [--logit-std S]
#                           [--pack DIR] [--cuda-dir DIR] [--work DIR] [--out DIR]
#
# Defaults: GPU: --size 0.6b --examples 3000 --onnx-dtype fp16 --chunk 2048 --logitpack-minutes 2
#                --thresholds '{"256": 16, "512": 8, "1024": 4, "2048": 2}' (both tools' default)
#           --cpu: --size tiny --examples 12 --onnx-dtype fp32 --chunk 256 --logitpack-minutes 5
#                --thresholds '{"256": 8}'
# Python: $LOGITPACK_PYTHON, else python3 (needs torch, transformers, onnx, onnxscript, numpy, pyarrow).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

usage() {
  sed -n '7,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
}
die() {
  echo "error: $1" >&2
  exit "${2:-1}"
}
need_value() {
  [[ $# -ge 2 && -n "$2" && "$2" != --* ]] || die "$1: expected a value" 2
}

cpu=0
size="" examples="" dtype="" thresholds="" chunk="" minutes="" logit_std="8"
pack="$repo/.device" cuda_dir="" work="" out="${OUT:-}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --cpu) cpu=1; shift ;;
    --size) need_value "$@"; size="$2"; shift 2 ;;
    --examples) need_value "$@"; examples="$2"; shift 2 ;;
    --onnx-dtype) need_value "$@"; dtype="$2"; shift 2 ;;
    --thresholds) need_value "$@"; thresholds="$2"; shift 2 ;;
    --chunk) need_value "$@"; chunk="$2"; shift 2 ;;
    --logitpack-minutes) need_value "$@"; minutes="$2"; shift 2 ;;
    --logit-std) need_value "$@"; logit_std="$2"; shift 2 ;;
    --pack) need_value "$@"; pack="$2"; shift 2 ;;
    --cuda-dir) need_value "$@"; cuda_dir="$2"; shift 2 ;;
    --work) need_value "$@"; work="$2"; shift 2 ;;
    --out) need_value "$@"; out="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage; die "unknown argument: $1" 2 ;;
  esac
done
if [[ $cpu == 1 ]]; then
  : "${size:=tiny}" "${examples:=12}" "${dtype:=fp32}" "${chunk:=256}" "${minutes:=5}"
  [[ -n "$thresholds" ]] || thresholds='{"256": 8}'
else
  : "${size:=0.6b}" "${examples:=3000}" "${dtype:=fp16}" "${chunk:=2048}" "${minutes:=2}"
  # the seed's and logitpack's default --batch-thresholds (the batches both tools run as shipped)
  [[ -n "$thresholds" ]] || thresholds='{"256": 16, "512": 8, "1024": 4, "2048": 2}'
fi
case "$size" in tiny|0.6b|1.7b) ;; *) die "--size: expected tiny, 0.6b or 1.7b, got '$size'" 2 ;; esac
case "$dtype" in fp32|fp16) ;; *) die "--onnx-dtype: expected fp32 or fp16, got '$dtype'" 2 ;; esac
[[ "$examples" =~ ^[1-9][0-9]*$ ]] || die "--examples: expected a positive integer, got '$examples'" 2
[[ "$chunk" =~ ^[1-9][0-9]*$ ]] || die "--chunk: expected a positive integer, got '$chunk'" 2
[[ "$minutes" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--logitpack-minutes: expected a number of minutes, got '$minutes'" 2
[[ "$logit_std" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--logit-std: expected a positive number, got '$logit_std'" 2
[[ -n "$out" ]] || die "no output folder: set \$OUT (the device tool does) or pass --out DIR" 2
for f in node.xz app.tar.xz; do
  [[ -f "$pack/$f" ]] || die "--pack: $pack/$f is missing: run \`node tools/device-run/pack.mjs\` first (and carry .device)"
done
py="${LOGITPACK_PYTHON:-python3}"
command -v "$py" >/dev/null || die "no Python: set LOGITPACK_PYTHON or put python3 on PATH"
"$py" -c "import torch, transformers, onnx, onnxscript, numpy, pyarrow" 2>/dev/null \
  || die "$py lacks one of torch, transformers, onnx, onnxscript, numpy, pyarrow"

mkdir -p "$out"
if [[ -z "$work" ]]; then
  work="$(mktemp -d "${TMPDIR:-/tmp}/logitpack-device-run.XXXXXX")"
fi
mkdir -p "$work/bin"
env_txt="$out/env.txt"
: >"$env_txt"
note() {
  echo "$*" | tee -a "$env_txt" >&2
}

# ---- unpack ----
t0=$(date +%s)
xz -dc "$pack/node.xz" >"$work/bin/node"
chmod +x "$work/bin/node"
rm -rf "$work/logitpack"
tar -xJf "$pack/app.tar.xz" -C "$work"
node="$work/bin/node"
note "node $("$node" --version); unpacked in $(($(date +%s) - t0)) s into a temp folder"
[[ -f "$pack/manifest.json" ]] && note "pack: $(tr -d '\n ' <"$pack/manifest.json" | head -c 400)"

# ---- device checks ----
if [[ $cpu == 1 ]]; then
  device=cpu
  note "mode: CPU dry run (no GPU used; the same stages as the GPU run)"
else
  device=cuda
  command -v nvidia-smi >/dev/null || die "nvidia-smi not found: no NVIDIA GPU here (use --cpu for a dry run)"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | sed 's/^/gpu: /' | tee -a "$env_txt" >&2
  "$py" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" \
    || die "PyTorch sees no CUDA device"
  note "torch: $("$py" -c 'import torch; print(torch.__version__, torch.version.cuda)')"

  # WebGPU (bundled in onnxruntime-node) needs the Vulkan loader and the NVIDIA ICD
  if ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1'; then
    note "vulkan: libvulkan.so.1 from the system"
  elif compgen -G "$pack/vk/libvulkan1_*.deb" >/dev/null; then
    for deb in "$pack"/vk/*.deb; do dpkg -x "$deb" "$work/vk"; done
    export LD_LIBRARY_PATH="$work/vk/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    note "vulkan: libvulkan.so.1 from the carried $(basename "$pack"/vk/libvulkan1_*.deb)"
  else
    note "vulkan: no loader here and none carried: WebGPU cannot start"
  fi
  if ! compgen -G "/usr/share/vulkan/icd.d/nvidia*" >/dev/null && ! compgen -G "/etc/vulkan/icd.d/nvidia*" >/dev/null \
    && [[ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]]; then
    export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
    export VK_ICD_FILENAMES="$VK_DRIVER_FILES"
    note "vulkan: ICD $VK_DRIVER_FILES"
  fi

  # CUDA provider: only with --cuda-dir (README: staged over earlier calls), a matching onnxruntime-node package
  if [[ -n "$cuda_dir" ]]; then
    ort_cuda="$cuda_dir/onnxruntime-node"
    lib="$ort_cuda/bin/napi-v6/linux/x64"
    if [[ -f "$lib/libonnxruntime_providers_cuda.so" && -f "$lib/libonnxruntime_providers_shared.so" \
      && -f "$lib/libonnxruntime.so.1" && -d "$cuda_dir/onnxruntime-common" ]]; then
      rm -rf "$work/logitpack/node_modules/onnxruntime-node" "$work/logitpack/node_modules/onnxruntime-common"
      cp -r "$ort_cuda" "$cuda_dir/onnxruntime-common" "$work/logitpack/node_modules/"
      nv="$("$py" -c 'import glob, os, torch; d = [os.path.dirname(torch.__file__) + "/lib"] + sorted(glob.glob(os.path.join(os.path.dirname(os.path.dirname(torch.__file__)), "nvidia", "*", "lib"))) + sorted(glob.glob(os.path.join(os.path.dirname(os.path.dirname(torch.__file__)), "nvidia", "cu*", "lib"))); print(":".join(x for x in d if os.path.isdir(x)))')"
      export LD_LIBRARY_PATH="$nv${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
      missing="$(ldd "$work/logitpack/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so" | grep 'not found' || true)"
      note "cuda: onnxruntime-node $(grep -o '"version": *"[^"]*"' "$ort_cuda/package.json") with the CUDA provider from --cuda-dir${missing:+; unresolved: $missing}"
    else
      note "cuda: --cuda-dir $cuda_dir lacks onnxruntime-node/bin/napi-v6/linux/x64/{libonnxruntime.so.1,libonnxruntime_providers_cuda.so,libonnxruntime_providers_shared.so} or onnxruntime-common: CUDA provider absent"
    fi
  else
    note "cuda: no --cuda-dir: onnxruntime-node's CUDA provider is absent (WebGPU, else CPU)"
  fi
fi

# ---- the benchmark ----
export PYTHONUNBUFFERED=1
note "run: size $size, $examples conversations, ONNX $dtype, thresholds $thresholds, chunk $chunk, logitpack cap $minutes min"
"$py" "$here/bench.py" run --app "$work/logitpack" --node "$node" --work "$work/run" --out "$out" --device "$device" \
  --size "$size" --examples "$examples" --onnx-dtype "$dtype" --thresholds "$thresholds" --chunk "$chunk" \
  --logitpack-minutes "$minutes" --logit-std "$logit_std"
note "done in $(($(date +%s) - t0)) s"
