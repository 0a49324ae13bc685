"""Plain data shared by the render service, its child process and the job steps.

Requests and results cross a process boundary as JSON, so they are frozen dataclasses of simple types
with explicit ``to_json``/``from_json`` helpers. Errors cross it by class name (see ``error_from_wire``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

Product = Literal["thumbnail", "preview", "turntable"]
UpAxis = Literal["auto", "y", "z"]
BlenderEngine = Literal["cycles", "eevee"]

PRODUCTS: tuple[str, ...] = get_args(Product)
BACKENDS = ("pyrender", "blender")
MIN_SIZE = 16
MAX_SIZE = 8192
MAX_TURNTABLE_FRAMES = 1440
# Files in one geometry can claim any number of faces; beyond this a render would need gigabytes.
MAX_RENDER_FACES = 20_000_000
# Formats conventionally modelled Z-up (3D printing, CAD); the rest (glTF, OBJ, PLY, OFF) are Y-up.
Z_UP_SUFFIXES = frozenset({".stl", ".3mf", ".step", ".stp", ".iges", ".igs", ".brep"})


class RenderError(Exception):
    """A render failed; the message is meant for the user."""


class RenderTimeoutError(RenderError):
    """The render child ran past its wall-time limit and was killed."""


class RenderCrashedError(RenderError):
    """The render child (or Blender) died: a signal, an abort or an unexpected exit."""


class InvalidModelError(RenderError):
    """The file cannot be rendered: unreadable, broken, hostile or empty geometry."""


class RenderBackendUnavailableError(RenderError):
    """The requested backend cannot run here (no Blender binary, no working OpenGL)."""


class RenderMemoryError(RenderError):
    """The model needed more memory than the render memory limit allows."""


_ERRORS_BY_NAME: dict[str, type[RenderError]] = {
    cls.__name__: cls
    for cls in (
        RenderError,
        RenderTimeoutError,
        RenderCrashedError,
        InvalidModelError,
        RenderBackendUnavailableError,
        RenderMemoryError,
    )
}


def error_from_wire(name: str, message: str) -> RenderError:
    """Rebuild an error the child reported by class name (unknown names become RenderError)."""
    return _ERRORS_BY_NAME.get(name, RenderError)(message)


@dataclass(frozen=True)
class RenderRequest:
    source: Path
    output: Path
    size: int
    product: Product
    frames: int = 36
    fps: int = 24
    transparent: bool = False
    backend: str = "pyrender"
    up_axis: UpAxis = "auto"
    max_faces: int = MAX_RENDER_FACES
    blender_engine: BlenderEngine = "cycles"
    samples: int = 16
    # pyrender draws very large meshes vertex-clustered to ~0.25 face per output pixel (cells of at
    # most 3 px, so silhouettes hold; see mesh_prep); False draws every face (slower, exact).
    decimate: bool = True
    # Test hook ("sleep", "exit", "segv", "memory"): honoured only by a RenderService created with
    # allow_fault_injection=True, so tests can make a real child hang or crash mid-request.
    fault: str | None = None

    def validate(self) -> None:
        """Reject impossible requests before a child process is bothered with them."""
        if self.product not in PRODUCTS:
            raise RenderError(f"Unknown render product {self.product!r}; expected one of {PRODUCTS}")
        if self.backend not in BACKENDS:
            raise RenderError(f"Unknown render backend {self.backend!r}; expected one of {BACKENDS}")
        if not MIN_SIZE <= self.size <= MAX_SIZE:
            raise RenderError(f"Render size {self.size} px is outside {MIN_SIZE}..{MAX_SIZE}")
        if self.product == "turntable" and not 1 <= self.frames <= MAX_TURNTABLE_FRAMES:
            raise RenderError(f"Turntable frames {self.frames} is outside 1..{MAX_TURNTABLE_FRAMES}")
        if not 1 <= self.fps <= 240:
            raise RenderError(f"Turntable fps {self.fps} is outside 1..240")
        if self.max_faces < 1:
            raise RenderError("max_faces must be positive")

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["source"] = str(self.source)
        data["output"] = str(self.output)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RenderRequest:
        values = dict(data)
        values["source"] = Path(values["source"])
        values["output"] = Path(values["output"])
        return cls(**values)


@dataclass(frozen=True)
class RenderResult:
    output: Path
    backend: str
    gl_platform: str | None
    gl_renderer: str | None
    seconds: float
    width: int
    height: int
    frames: int
    warnings: list[str] = field(default_factory=list)
    # Faces in the model (all instances) and faces drawn after decimation; 0 when the backend
    # does not report them (Blender).
    faces: int = 0
    faces_drawn: int = 0

    @property
    def device(self) -> str:
        """What ran the render, for job documents: "pyrender/egl", "blender/cycles-cpu"."""
        return f"{self.backend}/{self.gl_platform or 'unknown'}"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["output"] = str(self.output)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RenderResult:
        values = dict(data)
        values["output"] = Path(values["output"])
        values["warnings"] = list(values.get("warnings", []))
        return cls(**values)


def partial_output_path(output: Path) -> Path:
    """Where a render writes before the atomic rename, so a killed render never leaves a half file."""
    return output.with_name(output.name + ".partial")


def frames_scratch_dir(output: Path) -> Path:
    """Scratch folder for per-frame images of a turntable (Blender writes frames, we encode)."""
    return output.with_name(output.name + ".frames")
