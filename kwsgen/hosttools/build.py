"""Compile kwsgen's C for the host and for the Cortex-M4, cached by content hash.

Builds land in a cache folder (``$KWSGEN_CACHE`` or ``~/.cache/kwsgen``) under
a name derived from every input: sources, generated tables, flags and the
compiler's version. A build is written to a temporary name and renamed into
place, so parallel or interrupted runs never see half an executable.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import ToolchainError
from ..frontend.cgen import config_header, tables_source
from ..frontend.config import EnergyFilterConfig, FrontendConfig
from ..fsutil import atomic_write_text
from ..resources import KERNEL_FILES, host_tools_dir, runtime_dir

FRONTEND_SOURCES = ("kws_fft.c", "kws_mfcc.c", "kws_scale.c", "kws_energy_filter.c", "kws_frontend.c")
WARNINGS = ("-Wall", "-Wextra", "-Werror")
HOST_CFLAGS = ("-std=c99", "-O2", "-pedantic", *WARNINGS)
SANITIZE_CFLAGS = ("-g", "-fno-omit-frame-pointer", "-fsanitize=address,undefined", "-fno-sanitize-recover=all")
M4_CPU_FLAGS = ("-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16")
M4_CFLAGS = ("-std=c99", *M4_CPU_FLAGS, "-O2", "-ffunction-sections", "-fdata-sections", *WARNINGS)

APT_HINT = "apt-get install --no-install-recommends gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm"


def cache_root() -> Path:
    root = Path(os.environ.get("KWSGEN_CACHE") or Path.home() / ".cache" / "kwsgen")
    root.mkdir(parents=True, exist_ok=True)
    return root


def find_tool(names: Sequence[str], what: str, hint: str) -> str:
    for name in names:
        if name and shutil.which(name):
            return name
    raise ToolchainError(f"no {what} found (looked for {', '.join(n for n in names if n)}); {hint}")


def host_cc() -> str:
    return find_tool([os.environ.get("CC", ""), "cc", "gcc", "clang"], "C compiler", "install gcc or set CC")


def arm_gcc() -> str:
    return find_tool(["arm-none-eabi-gcc"], "Arm cross compiler", f"install it: {APT_HINT}")


def arm_tool(name: str) -> str:
    return find_tool([f"arm-none-eabi-{name}"], f"arm-none-eabi-{name}", f"install it: {APT_HINT}")


def qemu_arm() -> str:
    return find_tool(["qemu-system-arm"], "QEMU for Arm", f"install it: {APT_HINT}")


def have_m4_toolchain() -> bool:
    """Whether the Arm cross compiler and QEMU are installed, for the optional Cortex-M4 checks."""
    return all(shutil.which(t) for t in ("arm-none-eabi-gcc", "qemu-system-arm"))


@functools.lru_cache(maxsize=8)
def compiler_version(cc: str) -> str:
    try:
        out = subprocess.run([cc, "--version"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        raise ToolchainError(f"cannot run {cc} --version: {exc}") from None
    return out.splitlines()[0] if out else cc


def _digest(items: Iterable[str | bytes]) -> str:
    h = hashlib.sha256()
    for item in items:
        data = item.encode() if isinstance(item, str) else item
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()[:16]


def _file_items(paths: Iterable[Path]) -> list[bytes]:
    items = []
    for p in sorted(paths):
        items.append(p.name.encode())
        items.append(p.read_bytes())
    return items


def cached_folder(kind: str, files: dict[str, str]) -> Path:
    """A cache folder holding exactly these generated files (name -> text), written once.

    The folder's name is a digest of the names and contents; a marker written
    last says it is complete, so an interrupted write is redone.
    """
    digest = _digest([name.encode() + b"\0" + text.encode() for name, text in sorted(files.items())])
    out = cache_root() / f"{kind}-{digest}"
    if not (out / ".complete").exists():
        for name, text in files.items():
            atomic_write_text(out / name, text)
        atomic_write_text(out / ".complete", "")
    return out


def generated_frontend_dir(config: FrontendConfig, filt: EnergyFilterConfig) -> Path:
    """Folder holding kws_fe_config.h and kws_fe_tables.c for this configuration."""
    return cached_folder(
        "gen", {"kws_fe_config.h": config_header(config, filt), "kws_fe_tables.c": tables_source(config)}
    )


@dataclass(frozen=True)
class BuildSpec:
    """One compile-and-link of C sources into a single output file."""

    cc: str
    sources: tuple[Path, ...]
    include_dirs: tuple[Path, ...]
    flags: tuple[str, ...]
    link_flags: tuple[str, ...]
    output_name: str
    extra_inputs: tuple[Path, ...] = ()

    def key(self) -> str:
        headers = [p for d in self.include_dirs for p in d.glob("*.h")]
        return _digest(
            [
                compiler_version(self.cc),
                *self.flags,
                "--link--",
                *self.link_flags,
                *_file_items(self.sources),
                *_file_items(headers),
                *_file_items(self.extra_inputs),
            ]
        )


def build(spec: BuildSpec, kind: str) -> Path:
    """Compile unless an identical build is cached; returns the output path."""
    out_dir = cache_root() / f"{kind}-{spec.key()}"
    out = out_dir / spec.output_name
    if out.exists():
        return out
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".build-") as tmp:
        tmp_out = Path(tmp) / spec.output_name
        cmd = [
            spec.cc,
            *spec.flags,
            *(f"-I{d}" for d in spec.include_dirs),
            *(str(s) for s in spec.sources),
            *spec.link_flags,
            "-o",
            str(tmp_out),
        ]
        result = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp)
        if result.returncode != 0:
            detail = (result.stderr or result.stdout).strip().splitlines()
            first = next((line for line in detail if "error" in line), detail[0] if detail else "")
            raise ToolchainError(f"{Path(spec.cc).name} failed building {spec.output_name}: {first}")
        for extra in Path(tmp).glob("*.ci"):
            os.replace(extra, out_dir / extra.name)
        os.replace(tmp_out, out)
    return out


def _frontend_sources(gen: Path) -> tuple[Path, ...]:
    rt = runtime_dir()
    return (*(rt / s for s in FRONTEND_SOURCES), gen / "kws_fe_tables.c")


def build_host_frontend_tool(
    config: FrontendConfig | None = None,
    filt: EnergyFilterConfig | None = None,
    sanitize: bool = False,
) -> Path:
    """The host front-end driver (host_tools/host_main.c)."""
    config, filt = config or FrontendConfig(), filt or EnergyFilterConfig()
    gen = generated_frontend_dir(config, filt)
    ht = host_tools_dir()
    flags = HOST_CFLAGS + (SANITIZE_CFLAGS if sanitize else ())
    spec = BuildSpec(
        cc=host_cc(),
        sources=(*_frontend_sources(gen), ht / "fe_driver.c", ht / "host_main.c"),
        include_dirs=(runtime_dir(), gen, ht),
        flags=flags,
        link_flags=SANITIZE_CFLAGS if sanitize else (),
        output_name="kws_fe_tool",
    )
    return build(spec, "host-fe-asan" if sanitize else "host-fe")


def m4_link_flags() -> tuple[str, ...]:
    ld = host_tools_dir() / "m4" / "mps2_an386.ld"
    return (*M4_CPU_FLAGS, "-nostartfiles", "--specs=nano.specs", f"-T{ld}", "-Wl,--gc-sections")


def build_m4_frontend(
    config: FrontendConfig | None = None,
    filt: EnergyFilterConfig | None = None,
    dsp: bool = True,
) -> Path:
    """The Cortex-M4 front-end driver ELF for QEMU mps2-an386."""
    config, filt = config or FrontendConfig(), filt or EnergyFilterConfig()
    gen = generated_frontend_dir(config, filt)
    ht = host_tools_dir()
    m4 = ht / "m4"
    spec = BuildSpec(
        cc=arm_gcc(),
        sources=(*_frontend_sources(gen), ht / "fe_driver.c", m4 / "m4_main.c", m4 / "semihost.c", m4 / "startup.c"),
        include_dirs=(runtime_dir(), gen, ht, m4),
        flags=(*M4_CFLAGS, "-fcallgraph-info=su", f"-DKWS_USE_DSP={int(dsp)}"),
        link_flags=m4_link_flags(),
        output_name="kws_fe_m4.elf",
        extra_inputs=(m4 / "mps2_an386.ld",),
    )
    return build(spec, "m4-fe-dsp" if dsp else "m4-fe-portable")


def build_insn_count_plugin() -> Path:
    """The QEMU TCG plugin that counts executed instructions (host shared library)."""
    src = host_tools_dir() / "qemu_plugin"
    spec = BuildSpec(
        cc=host_cc(),
        sources=(src / "kws_insn_count.c",),
        include_dirs=(src,),
        flags=("-std=gnu99", "-O2", "-shared", "-fPIC", *WARNINGS),
        link_flags=(),
        output_name="kws_insn_count.so",
    )
    return build(spec, "qemu-plugin")


# The kernels' sources, as export-c ships them.
NN_SOURCES = tuple(name for name in KERNEL_FILES if name.endswith(".c"))


def generated_model_dir(header: str, source: str, prefix: str) -> Path:
    """Folder holding a generated model's C and the driver's glue header for it."""
    up = prefix.upper()
    glue = (
        f'#include "{prefix}.h"\n'
        f"#define KWS_DRIVER_INPUT_SIZE {up}_INPUT_SIZE\n"
        f"#define KWS_DRIVER_OUTPUT_SIZE {up}_OUTPUT_SIZE\n"
        f"#define KWS_DRIVER_INIT {prefix}_init\n"
        f"#define KWS_DRIVER_INPUT {prefix}_input\n"
        f"#define KWS_DRIVER_INVOKE {prefix}_invoke\n"
        f"#define KWS_DRIVER_OUTPUT {prefix}_output\n"
    )
    return cached_folder("model", {f"{prefix}.h": header, "nn_driver_model.h": glue, f"{prefix}.c": source})


def _model_sources(gen_dir: Path, prefix: str) -> tuple[Path, ...]:
    nn = runtime_dir() / "nn"
    return (*(nn / s for s in NN_SOURCES), gen_dir / f"{prefix}.c")


def build_host_model_tool(header: str, source: str, prefix: str, sanitize: bool = False, trace: bool = False) -> Path:
    """The host model driver (host_tools/nn_driver.c) with one generated model compiled in."""
    gen = generated_model_dir(header, source, prefix)
    ht = host_tools_dir()
    flags = HOST_CFLAGS + (SANITIZE_CFLAGS if sanitize else ())
    if trace:
        flags += ("-DKWS_MODEL_TRACE=nn_driver_trace",)
    spec = BuildSpec(
        cc=host_cc(),
        sources=(*_model_sources(gen, prefix), ht / "nn_driver.c", ht / "host_main.c"),
        include_dirs=(runtime_dir(), runtime_dir() / "nn", gen, ht),
        flags=flags,
        link_flags=SANITIZE_CFLAGS if sanitize else (),
        output_name="kws_nn_tool",
    )
    return build(spec, "host-nn" + ("-asan" if sanitize else "") + ("-trace" if trace else ""))


def build_m4_model(
    header: str, source: str, prefix: str, dsp: bool = True, trace: bool = False, asm: bool = True
) -> Path:
    """The Cortex-M4 model driver ELF for QEMU mps2-an386; asm=False builds the DSP path's C twins of
    its assembly loops instead (KWS_NN_NO_ASM)."""
    gen = generated_model_dir(header, source, prefix)
    ht = host_tools_dir()
    m4 = ht / "m4"
    flags = (*M4_CFLAGS, "-fcallgraph-info=su", f"-DKWS_USE_DSP={int(dsp)}")
    if trace:
        flags += ("-DKWS_MODEL_TRACE=nn_driver_trace",)
    if not asm:
        flags += ("-DKWS_NN_NO_ASM",)
    spec = BuildSpec(
        cc=arm_gcc(),
        sources=(
            *_model_sources(gen, prefix),
            ht / "nn_driver.c",
            m4 / "m4_main.c",
            m4 / "semihost.c",
            m4 / "startup.c",
        ),
        include_dirs=(runtime_dir(), runtime_dir() / "nn", gen, ht, m4),
        flags=flags,
        link_flags=m4_link_flags(),
        output_name="kws_nn_m4.elf",
        extra_inputs=(m4 / "mps2_an386.ld",),
    )
    variant = ("-dsp" if dsp else "-portable") + ("" if asm else "-noasm") + ("-trace" if trace else "")
    return build(spec, "m4-nn" + variant)
