"""pyrender offscreen backend: one GL context per render process, reused for every request.

Only the render child imports this module. ``PYOPENGL_PLATFORM`` must be decided before anything
imports OpenGL, which is why the child's entry point (``worker_main``) picks the platform and
re-executes itself with the next candidate when a platform fails to start.
"""

from __future__ import annotations

import gc
import logging
import os
import sys
import time
import types
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from core.render.api import (
    RenderBackendUnavailableError,
    RenderError,
    RenderRequest,
    RenderResult,
    partial_output_path,
)
from core.render.encoding import Mp4Writer, even
from core.render.framing import (
    BACKGROUND_GREY,
    CAMERA_AZIMUTH_DEG,
    CAMERA_YFOV_DEG,
    BoundingSphere,
    clip_planes,
    orbit_camera_pose,
    sphere_from_bounds,
    three_point_rig,
    turntable_azimuths,
    world_units_per_pixel,
)
from core.render.mesh_prep import (
    cluster_cell_size,
    cluster_vertices,
    estimated_surface_area,
    face_budget,
    shading_normals,
)
from core.render.scene_loading import count_instanced_faces, is_placeholder_texture, load_model

if TYPE_CHECKING:
    import trimesh

    from core.render.backend import ProgressCallback

log = logging.getLogger(__name__)

CLAY_COLOR = (0.78, 0.76, 0.72, 1.0)
MISSING_TEXTURE_COLOR = (1.0, 0.0, 1.0, 1.0)
# Without an environment map metals render almost black; previews cap metalness for readability.
MAX_PREVIEW_METALLIC = 0.5
# OSMesa has no multisampling: render larger and downsample instead.
OSMESA_SUPERSAMPLE = 2
MAX_SUPERSAMPLED_EDGE = 4096

# Geometries smaller than this are never clustered (parts of assemblies, props).
MIN_CLUSTERED_FACES = 10_000
# Clustering that keeps more than this share of the faces is not worth its cost.
MAX_CLUSTERED_SHARE = 0.8

RGBImage = npt.NDArray[np.uint8]


def _import_pyrender() -> Any:
    # pyrender 0.1.45 still uses np.infty, removed in numpy 2.
    if not hasattr(np, "infty"):
        np.infty = np.inf  # type: ignore[attr-defined]
    # pyrender's package imports its interactive Viewer, i.e. pyglet's windowing (~0.15 s of the
    # child's start-up, and libX11). Offscreen rendering never uses it: stand in an empty module.
    if "pyrender.viewer" not in sys.modules:
        viewer = types.ModuleType("pyrender.viewer")
        viewer.Viewer = None  # type: ignore[attr-defined]
        sys.modules["pyrender.viewer"] = viewer
    import pyrender

    return pyrender


def _gl_strings() -> tuple[str, str]:
    from OpenGL import GL

    def text(name: int) -> str:
        value = GL.glGetString(name)
        return value.decode(errors="replace") if isinstance(value, bytes) else str(value)

    return text(GL.GL_RENDERER), text(GL.GL_VERSION)


class PyrenderRenderer:
    name = "pyrender"

    def __init__(self, gl_platform: str) -> None:
        current = os.environ.get("PYOPENGL_PLATFORM")
        if current != gl_platform:
            raise RenderBackendUnavailableError(
                f"PYOPENGL_PLATFORM is {current!r}; the render child must set {gl_platform!r} "
                "before importing OpenGL"
            )
        self.gl_platform = gl_platform
        started = time.monotonic()
        self._pyrender = _import_pyrender()
        try:
            self._renderer: Any = self._pyrender.OffscreenRenderer(64, 64)
            self.gl_renderer, self.gl_version = _gl_strings()
        except Exception as exc:
            raise RenderBackendUnavailableError(
                f"OpenGL platform {gl_platform} is not usable: {type(exc).__name__}: {exc}"
            ) from exc
        self._supersample = OSMESA_SUPERSAMPLE if gl_platform == "osmesa" else 1
        self._warm_up()
        # Everything alive now (modules, pyrender, trimesh) lives as long as the child: keep it out
        # of the per-request gc.collect(), which otherwise walks it all (~60 ms a request).
        gc.freeze()
        log.info(
            "OpenGL platform %s: %s, %s (context in %.2f s)",
            gl_platform,
            self.gl_renderer,
            self.gl_version,
            time.monotonic() - started,
        )

    def _warm_up(self) -> None:
        """Draw three tiny spheres once (clay, vertex colours, a texture): llvmpipe compiles a
        shader program per material kind on its first draw, which would otherwise land on the
        first user file of each kind (clay ~0.1 s, textured ~0.07 s more on a quiet machine)."""
        import trimesh
        from PIL import Image

        clay = trimesh.creation.icosphere(subdivisions=1)
        coloured = clay.copy()
        red = np.array([200, 60, 60, 255], np.uint8)
        coloured.visual.vertex_colors = np.tile(red, (len(clay.vertices), 1))
        textured = clay.copy()
        textured.visual = trimesh.visual.TextureVisuals(  # type: ignore[no-untyped-call]
            uv=np.zeros((len(clay.vertices), 2)), image=Image.new("RGB", (4, 4), (60, 60, 200))
        )
        scene = trimesh.Scene()
        for index, mesh in enumerate((clay, coloured, textured)):
            offset = np.eye(4)
            offset[0, 3] = 2.5 * index
            scene.add_geometry(mesh, node_name=f"warm{index}", transform=offset)
        pyrender_scene, sphere = self._build_scene(scene, transparent=False, size=64)
        self._render_view(pyrender_scene, sphere, 64, CAMERA_AZIMUTH_DEG, transparent=False)
        self._release_gl_objects()

    def describe(self) -> dict[str, Any]:
        return {
            "backend": self.name,
            "gl_platform": self.gl_platform,
            "gl_renderer": self.gl_renderer,
            "gl_version": self.gl_version,
        }

    def close(self) -> None:
        self._renderer.delete()

    # --- scene building -----------------------------------------------------------------------

    def _material(self, **kwargs: Any) -> Any:
        return self._pyrender.MetallicRoughnessMaterial(**kwargs)

    def _clay(self) -> Any:
        return self._material(baseColorFactor=CLAY_COLOR, metallicFactor=0.0, roughnessFactor=0.75)

    def _missing_texture(self) -> Any:
        return self._material(
            baseColorFactor=MISSING_TEXTURE_COLOR,
            emissiveFactor=(0.45, 0.0, 0.45),
            metallicFactor=0.0,
            roughnessFactor=0.8,
        )

    def _mesh_for(self, geometry: Any, cluster_cell: float | None) -> Any:
        import trimesh

        pyrender = self._pyrender
        if isinstance(geometry, trimesh.PointCloud):
            colors = geometry.colors if len(geometry.colors) else None
            return pyrender.Mesh.from_points(geometry.vertices, colors=colors)
        visual = geometry.visual
        kind = getattr(visual, "kind", None)
        if kind == "face":
            # Per-face colours need unshared vertices; pyrender's own conversion does that.
            mesh = pyrender.Mesh.from_trimesh(geometry, smooth=False)
            for primitive in mesh.primitives:
                self._make_preview_friendly(primitive.material)
            return mesh
        # pyrender's from_trimesh asks trimesh for vertex normals (slow on big meshes): take only
        # colours, UVs and the material conversion from it and build the primitive directly.
        colors, texcoords, material = pyrender.Mesh._get_trimesh_props(geometry, smooth=True)
        if kind is None:
            material = self._clay()
        elif kind == "texture":
            source = visual.material
            image = getattr(source, "image", None) or getattr(source, "baseColorTexture", None)
            if is_placeholder_texture(image):
                material = self._missing_texture()
        self._make_preview_friendly(material)
        vertices = np.asarray(geometry.vertices, dtype=np.float64)
        faces = np.asarray(geometry.faces, dtype=np.int64)
        if cluster_cell is not None and kind in (None, "vertex") and len(faces) >= MIN_CLUSTERED_FACES:
            clustered = cluster_vertices(vertices, faces, cluster_cell)
            if len(clustered.faces) <= MAX_CLUSTERED_SHARE * len(faces) and len(clustered.faces):
                log.info("Drawing %d of %d faces (clustered for the render size)",
                         len(clustered.faces), len(faces))  # fmt: skip
                if colors is not None:
                    colors = np.clip(np.rint(clustered.average(colors)), 0, 255).astype(np.uint8)
                vertices, faces = clustered.vertices, clustered.faces
        shading = shading_normals(vertices, faces)
        index = shading.source_vertex
        primitive = pyrender.Primitive(
            positions=vertices[index].astype(np.float32),
            normals=shading.normals,
            indices=shading.faces,
            texcoord_0=None if texcoords is None else np.asarray(texcoords)[index],
            color_0=None if colors is None else np.asarray(colors)[index],
            material=material,
            mode=pyrender.constants.GLTF.TRIANGLES,
        )
        return pyrender.Mesh(primitives=[primitive])

    @staticmethod
    def _make_preview_friendly(material: Any) -> None:
        """pyrender marks every converted material BLEND; opaque ones sort and shade better."""
        if material is None:
            return
        factor = np.asarray(material.baseColorFactor, dtype=np.float64)
        texture = material.baseColorTexture
        texture_alpha = texture is not None and getattr(texture, "source_channels", "") == "RGBA"
        if factor.size == 4 and factor[3] >= 0.999 and not texture_alpha:
            material.alphaMode = "OPAQUE"
        if material.metallicFactor is not None and material.metallicFactor > MAX_PREVIEW_METALLIC:
            material.metallicFactor = MAX_PREVIEW_METALLIC

    def _cluster_cell(self, model: trimesh.Scene, sphere: BoundingSphere, size: int) -> dict[Any, float]:
        """Per geometry name: the grid cell (in its own units) to cluster it with."""
        budget = face_budget(size)
        if count_instanced_faces(model) <= budget:
            return {}
        total_area = 0.0
        scales: dict[Any, float] = {}
        for node in model.graph.nodes_geometry:
            transform, name = model.graph[node]
            geometry: Any = model.geometry.get(name)
            faces = getattr(geometry, "faces", None)
            if faces is None or len(faces) == 0:
                continue
            scale = float(np.linalg.norm(np.asarray(transform)[:3, :3], axis=0).max())
            scales[name] = max(scales.get(name, 0.0), scale)
            total_area += estimated_surface_area(geometry.vertices, faces) * scale * scale
        cell = cluster_cell_size(total_area, budget, world_units_per_pixel(sphere, size))
        return {name: cell / scale for name, scale in scales.items() if scale > 0}

    def _build_scene(
        self, model: trimesh.Scene, transparent: bool, size: int, decimate: bool = True
    ) -> tuple[Any, BoundingSphere]:
        pyrender = self._pyrender
        alpha = 0.0 if transparent else 1.0
        scene = pyrender.Scene(bg_color=(*BACKGROUND_GREY, alpha), ambient_light=(0.22,) * 3)
        sphere = sphere_from_bounds(np.asarray(model.bounds, dtype=np.float64))
        cells = self._cluster_cell(model, sphere, size) if decimate else {}
        meshes: dict[Any, Any] = {}
        for node in model.graph.nodes_geometry:
            transform, geometry_name = model.graph[node]
            geometry = model.geometry.get(geometry_name)
            if geometry is None or not hasattr(geometry, "vertices") or len(geometry.vertices) == 0:
                continue
            if not hasattr(geometry, "faces") and not hasattr(geometry, "colors"):
                continue  # paths and other non-surface geometry
            if geometry_name not in meshes:
                meshes[geometry_name] = self._mesh_for(geometry, cells.get(geometry_name))
            scene.add(meshes[geometry_name], pose=np.asarray(transform, dtype=np.float64))
        if not meshes:
            raise RenderError("The model has no surface geometry to draw")
        return scene, sphere

    def _count_triangles(self, scene: Any) -> int:
        """Triangles drawn for every instance (unindexed primitives hold three vertices each)."""
        triangles = self._pyrender.constants.GLTF.TRIANGLES
        total = 0
        for node in scene.mesh_nodes:
            for primitive in node.mesh.primitives:
                if primitive.mode != triangles:
                    continue
                indexed = primitive.indices is not None
                total += len(primitive.indices) if indexed else len(primitive.positions) // 3
        return total

    # --- rendering ----------------------------------------------------------------------------

    def _render_view(
        self, scene: Any, sphere: BoundingSphere, size: int, azimuth: float, transparent: bool
    ) -> npt.NDArray[np.uint8]:
        pyrender = self._pyrender
        camera_pose = orbit_camera_pose(sphere, azimuth_deg=azimuth)
        znear, zfar = clip_planes(sphere)
        camera = pyrender.PerspectiveCamera(
            yfov=np.radians(CAMERA_YFOV_DEG), aspectRatio=1.0, znear=znear, zfar=zfar
        )
        added = [scene.add(camera, pose=camera_pose)]
        for light in three_point_rig(camera_pose, sphere):
            directional = pyrender.DirectionalLight(color=np.ones(3), intensity=light.intensity)
            added.append(scene.add(directional, pose=light.pose, name=light.name))
        scale = self._supersample if size * self._supersample <= MAX_SUPERSAMPLED_EDGE else 1
        self._renderer.viewport_width = size * scale
        self._renderer.viewport_height = size * scale
        try:
            flags = pyrender.RenderFlags.RGBA if transparent else pyrender.RenderFlags.NONE
            color, depth = self._renderer.render(scene, flags=flags)
        finally:
            for node in added:
                scene.remove_node(node)
        image = np.asarray(color, dtype=np.uint8)
        if transparent and image.shape[2] == 3:
            # OSMesa contexts have no alpha channel: coverage comes from the depth buffer.
            mask = (np.asarray(depth) > 0).astype(np.uint8) * 255
            image = np.dstack([image, mask])
        if scale > 1:
            from PIL import Image

            resized = Image.fromarray(image).resize((size, size), Image.Resampling.LANCZOS)
            image = np.asarray(resized, dtype=np.uint8)
        return image

    def _release_gl_objects(self) -> None:
        """Rendering an empty scene makes pyrender free the last model's buffers and textures."""
        pyrender = self._pyrender
        empty = pyrender.Scene()
        empty.add(pyrender.PerspectiveCamera(yfov=1.0))
        self._renderer.viewport_width = 8
        self._renderer.viewport_height = 8
        self._renderer.render(empty)

    def render(self, request: RenderRequest, on_progress: ProgressCallback) -> RenderResult:
        from PIL import Image

        started = time.monotonic()
        on_progress(0.0, "Loading model")
        loaded = load_model(request.source, request.up_axis, request.max_faces)
        loaded_at = time.monotonic()
        warnings = list(loaded.warnings)
        render_size = even(request.size) if request.product == "turntable" else request.size
        scene, sphere = self._build_scene(
            loaded.scene, request.transparent, render_size, decimate=request.decimate
        )
        faces_drawn = self._count_triangles(scene)
        partial = partial_output_path(request.output)
        request.output.parent.mkdir(parents=True, exist_ok=True)
        try:
            if request.product == "turntable":
                if request.transparent:
                    warnings.append("MP4 has no alpha channel: turntable rendered on grey")
                width = height = even(request.size)
                with Mp4Writer(partial, width, height, request.fps) as writer:
                    azimuths = turntable_azimuths(request.frames)
                    for index, azimuth in enumerate(azimuths):
                        writer.write(self._render_view(scene, sphere, width, azimuth, False))
                        on_progress((index + 1) / len(azimuths), f"Frame {index + 1}/{len(azimuths)}")
                frames = writer.frames
            else:
                width = height = request.size
                pixels = self._render_view(
                    scene, sphere, request.size, CAMERA_AZIMUTH_DEG, request.transparent
                )
                # zlib level 3: half the encode time of the default 6 for ~25% bigger files.
                Image.fromarray(pixels).save(partial, format="PNG", compress_level=3)
                frames = 1
            os.replace(partial, request.output)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        finally:
            del scene
            self._release_gl_objects()
            gc.collect()
        seconds = time.monotonic() - started
        log.info(
            "Rendered %s (%s faces, %s drawn) as %s %d px in %.2f s (load %.2f s)",
            request.source.name,
            f"{loaded.face_count:,}",
            f"{faces_drawn:,}",
            request.product,
            request.size,
            seconds,
            loaded_at - started,
        )
        return RenderResult(
            output=request.output,
            backend=self.name,
            gl_platform=self.gl_platform,
            gl_renderer=self.gl_renderer,
            seconds=seconds,
            width=width,
            height=height,
            frames=frames,
            warnings=warnings,
            faces=loaded.face_count,
            faces_drawn=faces_drawn,
        )
