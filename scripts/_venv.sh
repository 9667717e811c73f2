# Sourced by scripts/example and scripts/test: use the active virtual environment, or make
# and use .venv in the repository. pip's wheel cache keeps the llama-cpp-python build, so only
# the first install on a machine compiles it (about 10 minutes on 2 cores).
OWN_VENV=
if [ -z "${VIRTUAL_ENV:-}" ]; then
  OWN_VENV=1
  if [ ! -x .venv/bin/python ]; then
    echo "creating .venv (a virtual environment for Tierwise) …" >&2
    python3 -m venv .venv
  fi
  # shellcheck disable=SC1091
  . .venv/bin/activate
fi
export LITELLM_LOCAL_MODEL_COST_MAP=True
# llama.cpp builds for the CPU it compiles on by default (-march=native). Some virtual machines
# report AMX or AVX-512 that their hypervisor does not enable, and that build then dies with
# "Illegal instruction" on the first token. Build for x86-64-v3 (AVX2, FMA, F16C) instead: it
# runs on every machine of this kind and costs a little speed at most.
if [ -z "${CMAKE_ARGS:-}" ] && [ "$(uname -m)" = x86_64 ]; then
  export CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON"
fi
install() {
  echo "installing tierwise$1 …" >&2
  # Until .venv has been byte-compiled once, pip's own compiling (one file at a time: 34 of the
  # 110 s here) is left to compileall on every core afterwards (20 s on 2 cores), and a marker
  # says it was done (an install cut short compiles on the next run). The modules are compiled
  # either way: where PYTHONDONTWRITEBYTECODE is set, imports would otherwise compile anew.
  local compile=
  [ -n "$OWN_VENV" ] && [ ! -e .venv/.tierwise-compiled ] && compile=--no-compile
  python -m pip install --disable-pip-version-check -q $compile -e ".$1" || {
    echo "error: pip install -e '.$1' failed; see the lines above" >&2; exit 2; }
  if [ -n "$compile" ]; then
    # a package's deliberately invalid test file is no reason to stop
    python -m compileall -q -j 0 "$(python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" \
      >/dev/null 2>&1 || true
    touch .venv/.tierwise-compiled
  fi
}
