# shellcheck shell=bash
# tools/bench/peers.sh — finding the Python peers, shared by tools/bench/run
# (the step benchmark) and tools/bench/grid (the grid throughput): Debian's
# torch once per optimised BLAS installed, and the virtual environment of
# current packages from PyPI. Sourced, not run. The caller sets SYSPY (Debian's
# python3), HELPPY (a python3 for the helpers), LIBDIR, BENCH, ARCH (the BLIS
# sub-configuration modgrad runs), OUT and VENV, and defines log MSG,
# skip_peer NAME WHY and on_debian_torch ID LABEL PREFIX.

# Debian's PyTorch (python3-torch) calls whatever libblas.so.3 resolves to, so
# each peer puts that BLAS's directory first on LD_LIBRARY_PATH: BLIS
# (blis-openmp, with BLIS_ARCH_TYPE set to the kernels modgrad runs) and
# OpenBLAS (openblas-pthread, installed with apt-get when we are root). For
# each it calls on_debian_torch ID LABEL PREFIX, PREFIX being the command that
# runs Debian's python3 with that BLAS (the caller appends the script): ids
# deb-blis, deb-openblas, and deb-default when the system's own libblas.so.3
# is neither (e.g. the reference BLAS: shown, never given a ratio).
debian_torch_peers() {
    local sysblas have_opt=0 arch_env='' aid debv
    if [ ! -x "$SYSPY" ] || ! "$SYSPY" -c 'import torch, numpy' 2>/dev/null; then
        skip_peer "torch (Debian)" "python3-torch is not installed ($SYSPY cannot import torch; apt-get install python3-torch)"
        return 0
    fi
    debv=$("$SYSPY" -c 'import torch; print(torch.__version__)')
    sysblas=$(readlink -f "$LIBDIR/libblas.so.3" 2>/dev/null || echo none)
    if [ -e "$LIBDIR/blis-openmp/libblas.so.3" ]; then
        have_opt=1
        if [ -n "$ARCH" ]; then
            if aid=$("$HELPPY" "$BENCH/peer_common.py" blis-arch-id "$LIBDIR/blis-openmp" "$ARCH" 2>/dev/null); then
                arch_env="BLIS_ARCH_TYPE=$aid"
                log "BLIS for Debian's torch: BLIS_ARCH_TYPE=$aid (= $ARCH, checked against blis-openmp/libblis.so.4)"
            else
                log "BLIS for Debian's torch: no verified BLIS_ARCH_TYPE for $ARCH; BLIS chooses its own kernels"
            fi
        fi
        on_debian_torch deb-blis "torch-$debv BLIS" \
            "env LD_LIBRARY_PATH=$LIBDIR/blis-openmp${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} $arch_env $SYSPY"
    else
        skip_peer "torch-$debv BLIS" "BLIS is not installed ($LIBDIR/blis-openmp/libblas.so.3; apt-get install libblis4-openmp)"
    fi
    if [ ! -e "$LIBDIR/openblas-pthread/libblas.so.3" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        log "installing libopenblas0-pthread (apt-get) ..."
        apt-get install -y -q libopenblas0-pthread >>"$OUT/apt.log" 2>&1 || true
    fi
    if [ -e "$LIBDIR/openblas-pthread/libblas.so.3" ]; then
        have_opt=1
        on_debian_torch deb-openblas "torch-$debv OpenBLAS" \
            "env LD_LIBRARY_PATH=$LIBDIR/openblas-pthread${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} $SYSPY"
    else
        skip_peer "torch-$debv OpenBLAS" "OpenBLAS is not installed and could not be ($LIBDIR/openblas-pthread; apt-get install libopenblas0-pthread)"
    fi
    case "$sysblas" in
    "$LIBDIR"/blis-openmp/* | "$LIBDIR"/openblas-pthread/*) ;;
    *) on_debian_torch deb-default "torch-$debv system libblas" "$SYSPY" ;;
    esac
    [ $have_opt = 1 ] || log "note: no optimised BLAS for Debian's torch"
}

# bench_venv PKG...: the virtual environment at $VENV (created once with
# python3 -m venv, then cached) with each package importable, pip installing
# those that are not (pip's output in $OUT/venv.log). Sets VPY to its python.
# Returns 1 when there is no environment (VENV_WHY says why); a package that
# failed to install is the caller's to find out (import it).
bench_venv() {
    local pkg
    VPY=$VENV/bin/python VENV_WHY=''
    if [ ! -x "$VPY" ]; then
        log "creating $VENV (python3 -m venv) ..."
        python3 -m venv "$VENV" >>"$OUT/venv.log" 2>&1 || true
    fi
    if [ ! -x "$VPY" ]; then
        VENV_WHY="python3 -m venv $VENV failed: $(tail -1 "$OUT/venv.log" 2>/dev/null)"
        return 1
    fi
    for pkg in "$@"; do
        if ! "$VPY" -c "import $pkg, numpy" 2>/dev/null; then
            log "pip install $pkg into $VENV ..."
            "$VPY" -m pip install -q "$pkg" numpy >>"$OUT/venv.log" 2>&1 || true
        fi
    done
}
