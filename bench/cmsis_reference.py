"""CMSIS-DSP's arm_mfcc_q15 on the emulated Cortex-M4: the same-run reference for the front end.

CMSIS-DSP's C sources come from its PyPI sdist (pinned by version and
sha256, fetched once into kwsgen's cache, never committed). They are built
with bench/cmsis_shim/cmsis_compiler.h standing in for CMSIS-Core, with and
without the DSP-extension code paths, and timed per frame with the same
instruction-count plugin as kwsgen's front end.
"""

from __future__ import annotations

import hashlib
import io
import re
import tarfile
import tempfile
import urllib.request
from pathlib import Path

import numpy as np

from kwsgen.frontend.tables import hz_to_mel
from kwsgen.hosttools.build import BuildSpec, build, cache_root, m4_link_flags
from kwsgen.hosttools.qemu import run_m4
from kwsgen.resources import host_tools_dir

VERSION = "1.10.3"
SHA256 = "307d32298faa7c58db912851027fce35f886fec7eb1a27c4b309ce1a97f47519"
INDEX = "https://pypi.org/simple/cmsisdsp/"
SOURCES = [
    "TransformFunctions/arm_mfcc_q15.c",
    "TransformFunctions/arm_mfcc_init_q15.c",
    "TransformFunctions/arm_rfft_q15.c",
    "TransformFunctions/arm_rfft_init_q15.c",
    "TransformFunctions/arm_cfft_q15.c",
    "TransformFunctions/arm_cfft_init_q15.c",
    "TransformFunctions/arm_cfft_radix4_q15.c",
    "TransformFunctions/arm_bitreversal2.c",
    "CommonTables/arm_common_tables.c",
    "CommonTables/arm_const_structs.c",
    "StatisticsFunctions/arm_absmax_q15.c",
    "FastMathFunctions/arm_divide_q15.c",
    "FastMathFunctions/arm_vlog_q31.c",
    "FastMathFunctions/arm_sqrt_q31.c",
    "BasicMathFunctions/arm_scale_q15.c",
    "BasicMathFunctions/arm_mult_q15.c",
    "BasicMathFunctions/arm_dot_prod_q15.c",
    "BasicMathFunctions/arm_scale_q31.c",
    "BasicMathFunctions/arm_offset_q31.c",
    "BasicMathFunctions/arm_shift_q31.c",
    "BasicMathFunctions/arm_shift_q15.c",
    "BasicMathFunctions/arm_abs_q15.c",
    "ComplexMathFunctions/arm_cmplx_mag_q15.c",
    "MatrixFunctions/arm_mat_vec_mult_q15.c",
]
FFT_LEN = 512
N_DCT = 23
FRAMES = 20


def fetch_sources() -> Path:
    """CMSIS-DSP's source tree, downloaded from PyPI once and checked against its sha256."""
    root = cache_root() / f"cmsisdsp-{VERSION}"
    if (root / "Include" / "arm_math.h").exists():
        return root
    html = urllib.request.urlopen(INDEX, timeout=60).read().decode()
    match = re.search(rf'href="([^"]+/cmsisdsp-{re.escape(VERSION)}\.tar\.gz)[^"]*"', html)
    if not match:
        raise RuntimeError(f"cmsisdsp {VERSION} sdist not listed on {INDEX}")
    data = urllib.request.urlopen(match.group(1), timeout=120).read()
    if hashlib.sha256(data).hexdigest() != SHA256:
        raise RuntimeError("cmsisdsp sdist checksum mismatch")
    with tempfile.TemporaryDirectory(dir=cache_root()) as tmp, tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(tmp, filter="data")
        Path(tmp, f"cmsisdsp-{VERSION}").rename(root)
    return root


def _tables_c(n_mels: int) -> str:
    """HTK-mel filters over bins 0..256, a DCT-II and a Hann window, as CMSIS's Q15 arrays."""
    bins = np.arange(FFT_LEN // 2 + 1) * 16000 / FFT_LEN
    edges = np.linspace(hz_to_mel(20), hz_to_mel(8000), n_mels + 2)
    mel = hz_to_mel(bins)
    pos, lengths, coefs = [], [], []
    for m in range(n_mels):
        w = np.clip(
            np.minimum(
                (mel - edges[m]) / (edges[m + 1] - edges[m]), (edges[m + 2] - mel) / (edges[m + 2] - edges[m + 1])
            ),
            0,
            None,
        )
        nz = np.flatnonzero(w)
        pos.append(int(nz[0]))
        lengths.append(int(nz[-1] - nz[0] + 1))
        coefs += [int(v) for v in np.minimum(np.round(w[nz[0] : nz[-1] + 1] * 32768), 32767)]
    i, m = np.arange(N_DCT)[:, None], np.arange(n_mels)[None, :]
    dct = np.round(np.sqrt(2 / n_mels) * np.cos(np.pi * i * (m + 0.5) / n_mels) * 32767).astype(int)
    win = np.round(np.hanning(FFT_LEN) * 32767).astype(int)

    def arr(ctype: str, name: str, values) -> str:
        return f"const {ctype} {name}[{len(values)}] = {{{', '.join(str(int(v)) for v in values)}}};\n"

    return (
        '#include "arm_math.h"\n'
        + arr("q15_t", "ref_dct", dct.ravel())
        + arr("uint32_t", "ref_filter_pos", pos)
        + arr("uint32_t", "ref_filter_len", lengths)
        + arr("q15_t", "ref_filter_coefs", coefs)
        + arr("q15_t", "ref_window", win)
    )


_MAIN_C = """
#include "arm_math.h"
#include "semihost.h"
extern const q15_t ref_dct[], ref_filter_coefs[], ref_window[];
extern const uint32_t ref_filter_pos[], ref_filter_len[];
static arm_mfcc_instance_q15 mfcc;
static q15_t src[%(fft)d];
static q15_t dst[%(dct)d];
static q31_t tmp[2 * %(fft)d];
__attribute__((noinline)) void kws_bench_mark(void) { __asm__ volatile("" ::: "memory"); }
int main(void)
{
    uint32_t state = 1u;
    int f, i;
    const int out = semihost_open("mfcc.bin", 5);
    if (arm_mfcc_init_q15(&mfcc, %(fft)d, %(mels)d, %(dct)d, ref_dct, ref_filter_pos, ref_filter_len,
                          ref_filter_coefs, ref_window) != ARM_MATH_SUCCESS) {
        return 2;
    }
    for (f = 0; f < %(frames)d; f++) {
        for (i = 0; i < %(fft)d; i++) {
            state = state * 1103515245u + 12345u;
            src[i] = (q15_t)((int32_t)(state >> 16) %% 6001 - 3000);
        }
        semihost_write(out, src, sizeof src);
        kws_bench_mark();
        arm_mfcc_q15(&mfcc, src, dst, tmp);
        kws_bench_mark();
        semihost_write(out, dst, sizeof dst);
    }
    semihost_close(out);
    return 0;
}
"""


TOLERANCE = 0.1  # natural-log units of coefficients 1..22 (measured: 0.013); a broken build is off by far more


def float_mfcc(frames: np.ndarray, n_mels: int) -> np.ndarray:
    """What arm_mfcc_q15 computes, in floating point: DCT(ln(mel(|rfft(x w)|))) with the same tables."""
    x = frames.astype(np.float64) / 32768.0
    window = np.round(np.hanning(FFT_LEN) * 32767) / 32768.0
    magnitude = np.abs(np.fft.rfft(x * window, axis=1))
    bins = np.arange(FFT_LEN // 2 + 1) * 16000 / FFT_LEN
    edges = np.linspace(hz_to_mel(20), hz_to_mel(8000), n_mels + 2)
    mel = hz_to_mel(bins)
    filters = np.stack(
        [
            np.clip(np.minimum((mel - lo) / (mid - lo), (hi - mel) / (hi - mid)), 0, None)
            for lo, mid, hi in zip(edges[:-2], edges[1:-1], edges[2:], strict=True)
        ]
    )
    filters = np.minimum(np.round(filters * 32768), 32767) / 32768.0
    i, m = np.arange(N_DCT)[:, None], np.arange(n_mels)[None, :]
    dct = np.round(np.sqrt(2 / n_mels) * np.cos(np.pi * i * (m + 0.5) / n_mels) * 32767) / 32768.0
    return np.log(magnitude @ filters.T + 1e-12) @ dct.T


def check_against_float(frames_and_mfcc: np.ndarray, n_mels: int) -> float:
    """The largest error of CMSIS's coefficients 1..22 (Q8.7) against float_mfcc; raises beyond TOLERANCE.

    Coefficient 0 carries CMSIS's fixed-point scalings (a constant added to every log mel energy only
    moves coefficient 0, since the other DCT rows sum to zero), so it is left out."""
    frames, got = frames_and_mfcc[:, :FFT_LEN], frames_and_mfcc[:, FFT_LEN:].astype(np.float64) / 128.0
    want = float_mfcc(frames, n_mels)
    error = float(np.abs(got[:, 1:] - want[:, 1:]).max())
    if not error <= TOLERANCE:
        raise RuntimeError(
            f"arm_mfcc_q15 ({n_mels} mels) is off a float MFCC by {error:.3f} (tolerance {TOLERANCE}): "
            "the reference build is broken, so its timing means nothing"
        )
    return error


def measure(n_mels: int, dsp: bool) -> dict:
    """Instructions per 512-point frame of arm_mfcc_q15 on the emulated Cortex-M4."""
    root = fetch_sources()
    work = cache_root() / f"cmsis-bench-src-{n_mels}"
    work.mkdir(parents=True, exist_ok=True)
    (work / "tables.c").write_text(_tables_c(n_mels))
    (work / "main.c").write_text(_MAIN_C % {"fft": FFT_LEN, "dct": N_DCT, "mels": n_mels, "frames": FRAMES})
    m4 = host_tools_dir() / "m4"
    flags = ["-std=gnu11", "-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16", "-O2"]
    # CMSIS-DSP's own sources are compiled without warnings (they are not ours); their output is
    # checked against a float MFCC instead (check_against_float).
    flags += ["-ffunction-sections", "-fdata-sections", "-w"]
    include = [root / "Include", root / "PrivateInclude", m4]
    if dsp:
        include.insert(0, Path(__file__).parent / "cmsis_shim")
    else:
        flags.append("-D__GNUC_PYTHON__")  # CMSIS-DSP's switch for building without CMSIS-Core intrinsics
    spec = BuildSpec(
        cc="arm-none-eabi-gcc",
        sources=(
            work / "main.c",
            work / "tables.c",
            *(root / "Source" / s for s in SOURCES),
            m4 / "startup.c",
            m4 / "semihost.c",
        ),
        include_dirs=tuple(include),
        flags=tuple(flags),
        link_flags=m4_link_flags(),
        output_name="cmsis_mfcc.elf",
    )
    elf = build(spec, "cmsis-mfcc")
    with tempfile.TemporaryDirectory() as tmp:
        result = run_m4(elf, [], Path(tmp), count=True)
        raw = np.frombuffer((Path(tmp) / "mfcc.bin").read_bytes(), "<i2") if result.returncode == 0 else None
    if result.returncode != 0 or raw is None:
        raise RuntimeError(f"arm_mfcc_q15 benchmark exited with {result.returncode}")
    error = check_against_float(raw.reshape(FRAMES, FFT_LEN + N_DCT), n_mels)
    per_frame = np.diff(result.marks)[::2]
    return {
        "mfcc_max_error_vs_float": round(error, 3),
        "n_mels": n_mels,
        "n_dct": N_DCT,
        "fft_len": FFT_LEN,
        "dsp_extension": dsp,
        "instructions_per_frame_median": int(np.median(per_frame)),
        "instructions_per_frame_max": int(per_frame.max()),
    }
