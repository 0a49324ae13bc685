"""Media handling for ingest: kinds, sequences, hashes, probes, decoding and thumbnails.

Qt-free and thread-safe (every function is pure apart from writing its own thumbnail file). Heavy
libraries (OpenCV, PyAV, trimesh, OpenEXR) are imported inside the functions that need them, so
importing this package costs nothing at start-up.
"""

from core.media.errors import InvalidMediaError, MediaError, UnreadableMediaError
from core.media.kinds import AssetKind, detect_kind, is_hidden_or_system
from core.media.limits import MediaLimits
from core.media.sequences import FrameSequence, group_sequences

__all__ = [
    "AssetKind",
    "FrameSequence",
    "InvalidMediaError",
    "MediaError",
    "MediaLimits",
    "UnreadableMediaError",
    "detect_kind",
    "group_sequences",
    "is_hidden_or_system",
]
