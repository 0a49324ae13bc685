"""Blender-side render script: ``blender -b --factory-startup -noaudio --python render_model.py -- JSON``.

JSON arguments: source, size, product ("thumbnail"|"preview"|"turntable"), frames, transparent,
engine ("cycles"|"eevee"), samples, up_axis ("y"|"z": how the file is oriented), and either output
(a PNG path for stills) or frames_dir (turntable frames frame_0000.png...; StratoPipe encodes them).

Reports to the caller on stdout: ``STRATOPIPE_LOG``, ``STRATOPIPE_PROGRESS``, ``STRATOPIPE_RESULT``
and ``STRATOPIPE_ERROR`` lines, each followed by one JSON object. The framing and the light rig match
core/render/framing.py (converted from its Y-up world to Blender's Z-up one).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import bpy  # type: ignore[import-not-found]
from mathutils import Vector  # type: ignore[import-not-found]

try:  # Blender's glTF importer still uses numpy.bool, removed in numpy 1.24.
    import numpy

    if not hasattr(numpy, "bool"):
        numpy.bool = bool  # type: ignore[attr-defined]
except ImportError:
    pass

YFOV_DEG = 35.0
ELEVATION_DEG = 25.0
AZIMUTH_DEG = 40.0
MARGIN = 1.12
# framing.BACKGROUND_GREY is an sRGB value; the world colour is linear (0.32 sRGB ~ 0.085 linear).
BACKGROUND = (0.085, 0.085, 0.089, 1.0)
CLAY = (0.78, 0.76, 0.72, 1.0)
LIGHTS = (("key", 3.2, -40.0, 35.0), ("fill", 1.3, 55.0, 5.0), ("rim", 2.2, 160.0, 40.0))
GPU_BACKENDS = ("OPTIX", "CUDA", "HIP", "METAL", "ONEAPI")


def report(tag: str, **payload: Any) -> None:
    print(f"STRATOPIPE_{tag} {json.dumps(payload)}", flush=True)


class ModelError(Exception):
    """A problem with the user's file, reported as STRATOPIPE_ERROR."""


def _operator(*candidates: str) -> Any:
    """First existing operator among dotted names: the importers moved between Blender versions."""
    for dotted in candidates:
        group, name = dotted.split(".")
        operator = getattr(getattr(bpy.ops, group), name)
        try:
            operator.get_rna_type()
        except KeyError:
            continue
        return operator
    return None


# suffix -> (operator names, the up axis the importer assumes: "y" converts to Z-up, "z" does not)
IMPORTERS: dict[str, tuple[tuple[str, ...], str]] = {
    ".obj": (("wm.obj_import", "import_scene.obj"), "y"),
    ".glb": (("import_scene.gltf",), "y"),
    ".gltf": (("import_scene.gltf",), "y"),
    ".fbx": (("import_scene.fbx",), "y"),
    ".stl": (("wm.stl_import", "import_mesh.stl"), "z"),
    ".ply": (("wm.ply_import", "import_mesh.ply"), "z"),
    ".dae": (("wm.collada_import",), "y"),
    ".abc": (("wm.alembic_import",), "y"),
    ".usd": (("wm.usd_import",), "y"),
    ".usda": (("wm.usd_import",), "y"),
    ".usdc": (("wm.usd_import",), "y"),
    ".usdz": (("wm.usd_import",), "y"),
    ".x3d": (("import_scene.x3d",), "y"),
    ".wrl": (("import_scene.x3d",), "y"),
}


def import_model(source: Path, up_axis: str) -> list[Any]:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    suffix = source.suffix.lower()
    if suffix not in IMPORTERS:
        raise ModelError(f"{suffix or 'this file type'} cannot be rendered by the Blender backend")
    names, importer_up = IMPORTERS[suffix]
    operator = _operator(*names)
    if operator is None:
        raise ModelError(f"this Blender has no importer for {suffix}")
    try:
        outcome = operator(filepath=str(source))
    except RuntimeError as exc:
        raise ModelError(f"Blender could not import the file ({exc})") from None
    if "FINISHED" not in outcome:
        raise ModelError("Blender could not import the file")
    meshes = [obj for obj in bpy.context.scene.objects if obj.type == "MESH"]
    if not meshes:
        raise ModelError("the file contains no renderable geometry")
    if up_axis != importer_up:
        # Y-up data through a Z-up importer (or the reverse): turn the roots a quarter about X.
        angle = math.radians(90.0 if up_axis == "y" else -90.0)
        for obj in bpy.context.scene.objects:
            if obj.parent is None:
                obj.rotation_euler.rotate_axis("X", angle)
        bpy.context.view_layer.update()
    return meshes


def ensure_materials(meshes: list[Any]) -> None:
    clay = None
    for obj in meshes:
        if any(slot.material for slot in obj.material_slots):
            continue
        if clay is None:
            clay = bpy.data.materials.new("StratoPipeClay")
            clay.use_nodes = True
            principled = clay.node_tree.nodes.get("Principled BSDF")
            principled.inputs["Base Color"].default_value = CLAY
            principled.inputs["Roughness"].default_value = 0.75
        obj.data.materials.append(clay)


def bounding_sphere(meshes: list[Any]) -> tuple[Vector, float]:
    corners = [obj.matrix_world @ Vector(corner) for obj in meshes for corner in obj.bound_box]
    low = Vector((min(c.x for c in corners), min(c.y for c in corners), min(c.z for c in corners)))
    high = Vector((max(c.x for c in corners), max(c.y for c in corners), max(c.z for c in corners)))
    radius = (high - low).length / 2.0
    return (low + high) / 2.0, radius if radius > 1e-9 else 1.0


def orbit_direction(azimuth_deg: float, elevation_deg: float) -> Vector:
    """framing.py's Y-up direction (sin a cos e, sin e, cos a cos e) in Blender's Z-up world."""
    a, e = math.radians(azimuth_deg), math.radians(elevation_deg)
    return Vector((math.sin(a) * math.cos(e), -math.cos(a) * math.cos(e), math.sin(e)))


def aim(obj: Any, target: Vector) -> None:
    obj.rotation_euler = (target - obj.location).to_track_quat("-Z", "Y").to_euler()


def build_rig(center: Vector, radius: float) -> tuple[Any, list[tuple[Any, float, float]]]:
    camera_data = bpy.data.cameras.new("StratoPipeCamera")
    camera_data.sensor_fit = "VERTICAL"
    camera_data.angle = math.radians(YFOV_DEG)
    distance = radius / math.sin(math.radians(YFOV_DEG) / 2.0) * MARGIN
    camera_data.clip_start = max(distance - radius * 1.5, distance * 1e-3)
    camera_data.clip_end = distance + radius * 1.5
    camera = bpy.data.objects.new("StratoPipeCamera", camera_data)
    bpy.context.scene.collection.objects.link(camera)
    bpy.context.scene.camera = camera
    lights = []
    for name, strength, yaw, pitch in LIGHTS:
        data = bpy.data.lights.new(name, type="SUN")
        data.energy = strength
        data.angle = math.radians(8.0)
        light = bpy.data.objects.new(name, data)
        bpy.context.scene.collection.objects.link(light)
        lights.append((light, yaw, pitch))
    return camera, lights


def place_rig(
    camera: Any, lights: list[tuple[Any, float, float]], center: Vector, radius: float, az: float
) -> None:
    distance = radius / math.sin(math.radians(YFOV_DEG) / 2.0) * MARGIN
    camera.location = center + orbit_direction(az, ELEVATION_DEG) * distance
    aim(camera, center)
    bpy.context.view_layer.update()
    basis = camera.matrix_world.to_3x3()
    for light, yaw, pitch in lights:
        y, p = math.radians(yaw), math.radians(pitch)
        local = Vector((math.sin(y) * math.cos(p), math.sin(p), math.cos(y) * math.cos(p)))
        light.location = center + (basis @ local) * radius * 3.0
        aim(light, center)


def choose_cycles_device(scene: Any) -> str:
    """GPU first (OPTIX, CUDA, HIP, METAL, oneAPI); an explicit, logged fallback to the CPU."""
    preferences = bpy.context.preferences.addons["cycles"].preferences
    for backend in GPU_BACKENDS:
        try:
            preferences.compute_device_type = backend
        except TypeError:
            continue  # this build has no such backend
        preferences.get_devices()
        gpus = [device for device in preferences.devices if device.type == backend]
        if gpus:
            for device in preferences.devices:
                device.use = device.type == backend
            scene.cycles.device = "GPU"
            report("LOG", message=f"Cycles renders on {backend}: {[g.name for g in gpus]}")
            return f"cycles-{backend.lower()}"
    preferences.compute_device_type = "NONE"
    scene.cycles.device = "CPU"
    report("LOG", message=f"No Cycles GPU ({', '.join(GPU_BACKENDS)} tried): falling back to CPU")
    return "cycles-cpu"


def configure_render(args: dict[str, Any]) -> str:
    scene = bpy.context.scene
    render = scene.render
    render.resolution_x = render.resolution_y = int(args["size"])
    render.resolution_percentage = 100
    render.use_file_extension = False
    render.film_transparent = bool(args.get("transparent"))
    render.image_settings.file_format = "PNG"
    render.image_settings.color_mode = "RGBA" if args.get("transparent") else "RGB"
    scene.view_settings.view_transform = "Standard"
    world = bpy.data.worlds.new("StratoPipeWorld")
    world.use_nodes = True
    world.node_tree.nodes["Background"].inputs["Color"].default_value = BACKGROUND
    scene.world = world
    if args.get("engine") == "eevee":
        render.engine = "BLENDER_EEVEE"
        scene.eevee.taa_render_samples = int(args.get("samples", 16))
        return "eevee"
    render.engine = "CYCLES"
    scene.cycles.samples = int(args.get("samples", 16))
    scene.cycles.use_denoising = False
    return choose_cycles_device(scene)


def render_to(path: str) -> None:
    bpy.context.scene.render.filepath = path
    bpy.ops.render.render(write_still=True)


def main() -> int:
    args = json.loads(sys.argv[sys.argv.index("--") + 1])
    source = Path(args["source"])
    try:
        meshes = import_model(source, str(args.get("up_axis", "y")))
    except ModelError as exc:
        report("ERROR", message=str(exc))
        return 2
    ensure_materials(meshes)
    center, radius = bounding_sphere(meshes)
    device = configure_render(args)
    camera, lights = build_rig(center, radius)
    frames = int(args.get("frames", 1))
    if args["product"] == "turntable":
        frames_dir = Path(args["frames_dir"])
        for index in range(frames):
            place_rig(camera, lights, center, radius, AZIMUTH_DEG + 360.0 * index / frames)
            render_to(str(frames_dir / f"frame_{index:04d}.png"))
            report("PROGRESS", fraction=(index + 1) / frames, message=f"Frame {index + 1}/{frames}")
    else:
        place_rig(camera, lights, center, radius, AZIMUTH_DEG)
        render_to(str(args["output"]))
    report(
        "RESULT",
        device=device,
        engine=bpy.context.scene.render.engine,
        version=f"Blender {bpy.app.version_string}",
        frames=frames,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
