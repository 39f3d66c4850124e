"""The fixed-point audio front end: the specification that the C runtime matches bit for bit.

Typical use::

    from kwsgen.frontend import FrontendConfig, mfcc, MinMax
    coeffs = mfcc(samples_int16)               # int32 [n_windows, 23]
    minmax = MinMax.fit(coeffs)
    features = minmax.scale(coeffs)            # int8, what the model sees
"""

from .config import EnergyFilterConfig, FrontendConfig
from .energy_filter import filter_requests
from .mfcc import frame_peaks, frame_signal, mfcc, mfcc_batch, mfcc_frames
from .scale import MinMax
from .stream import cascades, hop_dtype, stream_hops
from .tables import FrontendTables, build_tables

__all__ = [
    "EnergyFilterConfig",
    "FrontendConfig",
    "FrontendTables",
    "MinMax",
    "build_tables",
    "cascades",
    "filter_requests",
    "frame_peaks",
    "frame_signal",
    "hop_dtype",
    "mfcc",
    "mfcc_batch",
    "mfcc_frames",
    "stream_hops",
]
