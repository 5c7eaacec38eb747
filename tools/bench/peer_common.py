"""peer_common.py — what the benchmark's Python peers share: reading the
safetensors files bench_step --dump writes, the held-out split, peak memory,
and which BLAS library this process really calls.

Standard library and numpy only (Debian's python3 has no `safetensors`)."""
import ctypes
import json
import os
import re
import resource
import struct
import sys

_DTYPES = {"F32": "float32", "F64": "float64", "I32": "int32", "I64": "int64"}


def read_safetensors(path):
    """The tensors (name -> numpy array, a copy) and the metadata of a file."""
    import numpy as np
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {}) or {}
    base = 8 + n
    out = {}
    for name, info in header.items():
        dt = _DTYPES.get(info["dtype"])
        if dt is None:
            raise ValueError("%s: tensor %s has dtype %s, expected one of %s"
                             % (path, name, info["dtype"], sorted(_DTYPES)))
        lo, hi = info["data_offsets"]
        dt = np.dtype(dt).newbyteorder("<")
        a = np.frombuffer(raw, dtype=dt, count=(hi - lo) // dt.itemsize, offset=base + lo)
        out[name] = a.reshape(info["shape"]).astype(dt.newbyteorder("="), copy=True)
    return out, meta


def load(init_path, data_path):
    """(params, a, b, y, p): the step-0 parameters and the training split
    (int64 arrays) of one bench_step --dump."""
    import numpy as np
    params, _ = read_safetensors(init_path)
    data, meta = read_safetensors(data_path)
    if "p" not in meta:
        raise ValueError("%s: no metadata 'p'" % data_path)
    p = int(meta["p"])
    a, b, y = (np.rint(data[k]).astype(np.int64) for k in ("a", "b", "y"))
    return params, a, b, y, p


def load_batches(init_path, data_path):
    """(params, tokens, y, meta) of a generated task's dump (bench_step
    --dump of a model trained on one, e.g. attn_stack on markers): the
    step-0 parameters, the training batches of steps 0..B-1 as int64 arrays
    tokens (B, rows, T) and y (B, rows), and the metadata (task, t, v, k,
    heads, and AdamW's lr, wd, beta1, beta2, eps, as strings)."""
    import numpy as np
    params, _ = read_safetensors(init_path)
    data, meta = read_safetensors(data_path)
    for k in ("task", "t", "v", "k", "heads", "lr", "wd", "beta1", "beta2", "eps"):
        if k not in meta:
            raise ValueError("%s: no metadata %r (not the dump of a generated task?)" % (data_path, k))
    tokens, y = (np.rint(data[k]).astype(np.int64) for k in ("tokens", "y"))
    if tokens.ndim != 3 or y.shape != tokens.shape[:2] or tokens.shape[2] != int(meta["t"]):
        raise ValueError("%s: tokens %s and y %s are not (batches, rows, %s) and (batches, rows)"
                         % (data_path, tokens.shape, y.shape, meta["t"]))
    return params, tokens, y, meta


def test_split(a, b, p):
    """Every pair (a, b) of Z_p x Z_p not in the training split, labelled
    (a + b) mod p: the held-out set of modgrad's add task."""
    import numpy as np
    seen = np.zeros(p * p, dtype=bool)
    seen[a * p + b] = True
    rest = np.nonzero(~seen)[0]
    ta, tb = rest // p, rest % p
    return ta, tb, (ta + tb) % p


def check_labels(a, b, y, p):
    """The split's labels must be (a + b) mod p: the peers build the test set
    on that assumption."""
    import numpy as np
    if not np.array_equal(y, (a + b) % p):
        raise SystemExit("the data's labels are not (a + b) mod p: the peers support the add task only")


def peak_rss_kb():
    """Peak resident memory of this process in KiB (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


_BLAS_RE = re.compile(r"lib(blas|cblas|openblas\w*|blis|mkl\w*)[.-]")


def loaded_blas():
    """BLAS libraries mapped into this process (real paths, in order of address)."""
    seen = []
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                parts = line.split(None, 5)
                if len(parts) == 6 and parts[5].startswith("/"):
                    path = parts[5].strip()
                    if _BLAS_RE.search(os.path.basename(path)) and path not in seen:
                        seen.append(path)
    except OSError:
        pass
    return seen


def _mapped(substr):
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                parts = line.split(None, 5)
                if len(parts) == 6 and substr in os.path.basename(parts[5]):
                    return parts[5].strip()
    except OSError:
        pass
    return None


class _DlInfo(ctypes.Structure):
    _fields_ = [("dli_fname", ctypes.c_char_p), ("dli_fbase", ctypes.c_void_p),
                ("dli_sname", ctypes.c_char_p), ("dli_saddr", ctypes.c_void_p)]


def sgemm_provider(anchor):
    """The file whose sgemm_ the library `anchor` (a substring of a mapped
    library's name, e.g. "libtorch_cpu") binds to: dlsym on the anchor's
    handle searches its dependencies breadth first, as the dynamic linker
    does for the anchor's own references (checked against LD_DEBUG=bindings
    for Debian's torch: libblas.so.3 wins over the libopenblas.so.0 that
    liblapack.so.3 also pulls in). None if there is no sgemm_."""
    path = _mapped(anchor)
    if not path:
        return None
    try:
        lib = ctypes.CDLL(path)
        fn = lib.sgemm_
    except (OSError, AttributeError):
        return None
    info = _DlInfo()
    libc = ctypes.CDLL(None)
    try:
        dladdr = libc.dladdr
    except AttributeError:  # glibc < 2.34 keeps it in libdl
        dladdr = ctypes.CDLL("libdl.so.2").dladdr
    dladdr.argtypes = [ctypes.c_void_p, ctypes.POINTER(_DlInfo)]
    if not dladdr(ctypes.cast(fn, ctypes.c_void_p), ctypes.byref(info)) or not info.dli_fname:
        return None
    return os.path.realpath(info.dli_fname.decode())


def describe_blas(provider, static_name=None):
    """A short name for the sgemm_ provider: openblas-pthread, blis-openmp,
    reference (Debian's netlib libblas, /usr/lib/<triplet>/blas/), the
    library's directory name otherwise; static_name when the anchor itself
    provides sgemm_ (a BLAS linked in statically, e.g. MKL in the PyPI
    wheels)."""
    if provider is None:
        return static_name or "none"
    d = os.path.basename(os.path.dirname(provider))
    base = os.path.basename(provider)
    if d == "blas" and base.startswith("libblas"):
        return "reference"
    if "openblas" in d or "openblas" in base:
        return d if "openblas" in d else "openblas"
    if "blis" in d or "blis" in base:
        name = d if "blis" in d else "blis"
        arch = os.environ.get("BLIS_ARCH_TYPE")
        # BLIS's sub-configuration is not visible from the maps: record the
        # request (arch_t of Debian's BLIS 0.9: 0 skx, 3 haswell).
        return name + ("/arch%s" % arch if arch else "")
    if "mkl" in base:
        return "mkl"
    return static_name if static_name and "torch" in base else d


def thread_env(n):
    """Sets every BLAS/OpenMP thread count this process could use to n,
    unless the caller already set it. Must run before the framework is
    imported."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "BLIS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(n))


def median(xs):
    s = sorted(xs)
    return s[len(s) // 2]


def blis_arch_id(libdir, name):
    """The arch_t number of BLIS sub-configuration `name` (skx, haswell, ...)
    in the BLIS of libdir (its libblis.so.4; libblas.so.3 there is the same
    build), checked by asking a fresh BLIS with BLIS_ARCH_TYPE set to it which
    kernels it runs. None if there is no such sub-configuration or the check
    fails. BLIS_ARCH_TYPE takes this number, not the name (Debian's BLIS 0.9
    reads it with atoi)."""
    import subprocess
    lib = os.path.join(libdir, "libblis.so.4")
    if not os.path.exists(lib):
        return None
    lb = ctypes.CDLL(lib)
    lb.bli_arch_string.restype = ctypes.c_char_p
    lb.bli_arch_string.argtypes = [ctypes.c_int]
    ids = [i for i in range(64) if (lb.bli_arch_string(i) or b"").decode() == name]
    if not ids:
        return None
    check = ("import ctypes; l = ctypes.CDLL(%r); l.bli_init(); "
             "l.bli_arch_string.restype = ctypes.c_char_p; "
             "print(l.bli_arch_string(l.bli_arch_query_id()).decode())" % lib)
    env = dict(os.environ, BLIS_ARCH_TYPE=str(ids[0]))
    try:
        got = subprocess.run([sys.executable, "-c", check], env=env, capture_output=True,
                             text=True, timeout=60).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return ids[0] if got == name else None


if __name__ == "__main__":
    # peer_common.py blis-arch-id LIBDIR NAME: the number BLIS_ARCH_TYPE needs.
    if len(sys.argv) == 4 and sys.argv[1] == "blis-arch-id":
        i = blis_arch_id(sys.argv[2], sys.argv[3])
        if i is None:
            sys.exit("no verified BLIS sub-configuration %s in %s" % (sys.argv[3], sys.argv[2]))
        print(i)
    else:
        sys.exit("usage: peer_common.py blis-arch-id LIBDIR NAME")
