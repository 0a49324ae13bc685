"""Train the kind head and write it, with its manifest entry, into resources/models.

    python -m core.ai.train_kinds            # about five minutes on two CPU cores

Needs a machine set up by ``STRATOPIPE_TRAINING_DATA=1 bash installers/bootstrap.sh``: opencv-doc
installed, kphotoalbum, lomiri-wallpapers-20.04 and plasma-workspace-wallpapers extracted into the
environment (the last two only with that variable; it stops with a message if a listed wallpaper
photograph is missing), scikit-image, and offscreen OpenGL
(EGL, or KIND_RENDER_GL=osmesa) for the renders. Only developers train; the app and CI do not.

Data: seeded images of every generated kind (core/ai/kind_samples.py, CG renders by pyrender: scenes
and, through the app's own thumbnail renderer, procedural clay models; core/ai/kind_render.py) and,
for "photograph", real camera photographs from Debian packages and scikit-image that are NOT in the
evaluation set (resources/models/eval_set.json stays held out; near-duplicates of its images are
left out too), each augmented (crops, flips, scale, JPEG quality, blur, noise, colour); albedo and
roughness maps are also made from the close-up ones (not the wallpapers), as artists make
textures from photographs. Features: the subject model's pooled 1280-d MobileNetV2 embedding, read
through InferenceEngine.subject_embeddings so training sees exactly the preprocessing classify_batch
uses, plus the classical statistics (core/ai/kind_head.py); both standardised. Head: multinomial
logistic regression in torch with weight decay and class-balanced loss (photographs weighted up).
One seed in five (one photograph file in five) is held out and the per-kind validation accuracy is
printed; the shipped head is then refitted on all of it.
Everything is seeded, so a rerun on the same packages gives the same head, though not always the
same bytes: now and then llvmpipe draws one pixel of one clay thumbnail differently (seen on seed 31
in 3 of 8 runs; not thread count, not hash seed), which moves the weights by float noise and the
sha256 with them (two such heads made the same evaluation calls).
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from core.ai.classify import ALBEDO, CG_RENDER, PHOTOGRAPH, ROUGHNESS_OR_MASK
from core.ai.kind_head import EMBEDDING_SIZE, HEAD_KINDS, classical_vector, save_kind_head
from core.ai.kind_samples import (
    GENERATORS,
    albedo_from_photo,
    cg_renders,
    roughness_from_photo,
    sample,
)
from core.ai.models import MANIFEST_NAME, builtin_manifest_dir, package_dir, sha256_file

if TYPE_CHECKING:
    from collections.abc import Iterator

    import numpy as np
    import numpy.typing as npt

log = logging.getLogger(__name__)

HEAD_NAME = "kind-head"
HEAD_FILE = "kind-head.npz"
HEAD_VERSION = "1"
LICENCE = (
    "StratoPipe, trained by core/ai/train_kinds.py on generated images and camera photos from "
    "Debian kphotoalbum/opencv-doc/lomiri-wallpapers-20.04/plasma-workspace-wallpapers and scikit-image "
    "(none of the evaluation set)"
)
OPENCV_DOC = Path("/usr/share/doc/opencv-doc/examples")
# Camera photographs outside the evaluation set, each looked at: scenes, text in scenes, aerial
# views, a graffiti wall, calibration-board shots. (HappyFish, fuzzy/input, starry_night and blox
# are drawings, paintings or renders; leuvenB, ela_modified, aloeR, basketball2 and rubberwhale2
# are near-copies of evaluation images.)
OPENCV_PHOTOS = (
    "data/aero3.jpg",
    "data/right.jpg",
    "data/graf1.png",
    "data/graf3.png",
    "data/text_defocus.jpg",
    "data/text_motion.jpg",
    "data/left02.jpg",
    "data/left07.jpg",
    "data/left12.jpg",
    "data/right04.jpg",
    "data/right09.jpg",
    "data/right13.jpg",
    "hfs/data/001.jpg",
    "hfs/data/002.jpg",
    "text/scenetext_segmented_word01.jpg",
    "text/scenetext_segmented_word02.jpg",
    "text/scenetext_segmented_word03.jpg",
    "text/scenetext_segmented_word04.jpg",
    "text/scenetext_segmented_word05.jpg",
)
KPHOTOALBUM_PHOTOS = ("usr/share/kphotoalbum/pics/search.jpg",)  # EXIF: JENOPTIK JD4100
# Photographs through a telescope, a fundus camera, a microscope and of handwriting on paper: they
# widen "photograph" beyond scenes (scikit-image's others are in the evaluation set or synthetic).
SKIMAGE_PHOTOS = ("hubble_deep_field.jpg", "retina.jpg", "ihc.png", "text.png")
# Wallpaper photographs from packages the evaluation set does not use (it uses lomiri-wallpapers-16.04,
# mate-backgrounds, lxqt-themes), extracted by installers/bootstrap.sh. Each was looked at full size:
# only camera photographs are listed. Left out of lomiri-wallpapers-20.04: Fossa, Painting-Colors
# (digital art) and Infinite-Sea (a composite: Milky Way over a sea); all twelve of
# ukui-wallpapers are CG or illustrations, so that package is not used. Left out of Plasma's 30:
# the low-poly, gradient and abstract CG sets (Altai, Autumn, Canopee, Cascade, Cluster, DarkestHour,
# Elarun, Flow, FlyingKonqui, Honeywave, IceCold, Kay, Kokkini, MilkyWay, Opal, PastelHills, Patak,
# Shell, Volna) and the SafeLanding illustration.
WALLPAPER_PHOTOS = {
    "lomiri-wallpapers-20.04": ("usr/share/backgrounds/Kleiber_by_Lukas_Baubkus.jpg",),  # nuthatch on bark
    "plasma-workspace-wallpapers": tuple(
        f"usr/share/wallpapers/{name}/contents/images/{size}.jpg"
        for name, size in (
            ("BytheWater", "1920x1080"),  # a jetty on a lake, low sun
            ("ColdRipple", "1920x1080"),  # a jetty in fog, black and white
            ("ColorfulCups", "2560x1600"),  # plastic cups from above, film grain
            ("EveningGlow", "1920x1080"),  # rowing boats on a shore at sunset
            ("FallenLeaf", "1920x1080"),  # a maple leaf on the ground, shallow focus
            ("Grey", "1920x1080"),  # a building's facade, black and white
            ("Kite", "1920x1080"),  # clouds in a blue sky (the kite is small)
            ("OneStandsOut", "1920x1080"),  # a moss or conifer canopy from above
            ("Path", "1920x1080"),  # a path through a forest
            ("summer_1am", "1920x1080"),  # a lake at dusk with reeds
        )
    ),
}
PER_KIND = 110
AUGMENTS_PER_PHOTO = 24
# Albedo and roughness maps are made from the close-up and surface photographs only, not from the
# wallpapers: those are wide scenes (lakes, skies, forests) no artist would turn into a material,
# and their de-lit crops taught the head that scenic close-ups (a cat's fur) are albedo maps.
TEXTURES_PER_PHOTO = 1
VALIDATION_EVERY = 5
EPOCHS = 400
WEIGHT_DECAY = 3e-3
# "photograph" is the catch-all for natural images, yet it is learnt from two dozen camera files
# while every other kind has a generator behind it: on top of class balancing its loss counts
# three times, so an image unlike every generated kind leans to photograph.
PHOTOGRAPH_WEIGHT = 3.0
# 17 classical statistics beside 1280 embedding numbers: scaled up four times after
# standardisation so weight decay does not silence them (sensor noise, flat fills, the frame).
# Folded into the stored std, so the head file needs no extra field.
CLASSICAL_EMPHASIS = 4.0


class TrainingPhoto(NamedTuple):
    path: Path
    makes_textures: bool  # albedo and roughness maps are also made from it


def photograph_files() -> list[TrainingPhoto]:
    """The training photographs present on this machine (the Debian packages installed, or extracted
    by installers/bootstrap.sh); refuses to run if a wallpaper photograph is missing (a head trained
    without them is a different, weaker head) or if one of them is an evaluation image."""
    from core.ai.evaluate import EVAL_SET, extracted_debs_dir

    roots = [Path("/"), extracted_debs_dir() / "kphotoalbum"]
    found = [OPENCV_DOC / name for name in OPENCV_PHOTOS if (OPENCV_DOC / name).is_file()]
    for name in KPHOTOALBUM_PHOTOS:
        found += [root / name for root in roots if (root / name).is_file()][:1]
    wallpapers: list[Path] = []
    for package, names in WALLPAPER_PHOTOS.items():
        for name in names:
            candidates = [root / name for root in (Path("/"), extracted_debs_dir() / package)]
            present = [path for path in candidates if path.is_file()]
            if not present:
                raise RuntimeError(
                    f"training photograph {name} missing ({package}): run "
                    "STRATOPIPE_TRAINING_DATA=1 bash installers/bootstrap.sh"
                )
            wallpapers.append(present[0])
    skimage = package_dir("skimage")
    if skimage is not None:
        found += [skimage / "data" / name for name in SKIMAGE_PHOTOS if (skimage / "data" / name).is_file()]
    evaluated = {
        Path(item["file"]).name for item in json.loads(EVAL_SET.read_text(encoding="utf-8"))["images"]
    }
    leaked = [str(path) for path in found + wallpapers if path.name in evaluated]
    if leaked:
        raise RuntimeError(f"evaluation images must stay out of training: {leaked}")
    return [TrainingPhoto(path, True) for path in found] + [TrainingPhoto(path, False) for path in wallpapers]


def augment(image: npt.NDArray[np.uint8], rng: np.random.Generator) -> npt.NDArray[np.uint8]:
    """A camera-like variant: crop, flip, scale, colour, blur, noise, JPEG round trip."""
    import cv2
    import numpy as np

    height, width = image.shape[:2]
    # Down to a tenth of the frame: close-ups of bark, gravel or a wall are photographs too.
    area = rng.uniform(0.1, 1.0)
    aspect = rng.uniform(0.75, 1.45)
    crop_w = int(min(width, max(32, width * np.sqrt(area * aspect))))
    crop_h = int(min(height, max(32, height * np.sqrt(area / aspect))))
    top, left = int(rng.integers(0, height - crop_h + 1)), int(rng.integers(0, width - crop_w + 1))
    out = image[top : top + crop_h, left : left + crop_w]
    if rng.random() < 0.5:
        out = out[:, ::-1]
    scale = rng.uniform(224, 480) / max(out.shape[:2])
    resized = cv2.resize(np.ascontiguousarray(out), None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    work = resized.astype(np.float32) * rng.uniform(0.8, 1.2) + rng.uniform(-20, 20)
    if rng.random() < 0.3:
        work = np.asarray(cv2.GaussianBlur(work, (0, 0), rng.uniform(0.4, 1.2)), np.float32)
    work += rng.normal(0, rng.uniform(0, 4), size=work.shape)
    encoded = cv2.imencode(
        ".jpg", np.clip(work, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(40, 96))]
    )[1]
    decoded = cv2.imdecode(encoded, cv2.IMREAD_COLOR)
    assert decoded is not None  # a JPEG just encoded here
    return np.ascontiguousarray(decoded[:, :, ::-1], np.uint8)


def training_images(per_kind: int) -> Iterator[tuple[str, int, npt.NDArray[np.uint8]]]:
    """(kind, group, RGB image); images of one group (a seed, a photograph file) stay on one side
    of the validation split."""
    import cv2
    import numpy as np

    for kind in GENERATORS:
        for seed in range(per_kind):
            yield kind, seed, sample(kind, seed)
    for seed, render in enumerate(cg_renders(range(per_kind))):
        yield CG_RENDER, seed, render
    rng = np.random.default_rng(2024)
    for index, (path, makes_textures) in enumerate(photograph_files()):
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise RuntimeError(f"cannot read training photograph {path}")
        rgb = np.ascontiguousarray(bgr[:, :, ::-1], np.uint8)
        for _ in range(AUGMENTS_PER_PHOTO):
            yield PHOTOGRAPH, index, augment(rgb, rng)
        # Textures are often made from photographs: the same pixels, flattened and made seamless.
        for _ in range(TEXTURES_PER_PHOTO if makes_textures else 0):
            yield ALBEDO, index, albedo_from_photo(rgb, rng)
            yield ROUGHNESS_OR_MASK, index, roughness_from_photo(rgb, rng)


def fit_head(
    features: npt.NDArray[np.float32], labels: npt.NDArray[np.int64], epochs: int = EPOCHS
) -> tuple[npt.NDArray[np.float32], ...]:
    """Standardise, then fit softmax regression (full batch Adam, decoupled weight decay, each kind
    weighted by the inverse of its count, photographs PHOTOGRAPH_WEIGHT times more)."""
    import numpy as np
    import torch

    torch.manual_seed(0)
    mean = features.mean(axis=0)
    std = np.maximum(features.std(axis=0), 1e-3)
    std[EMBEDDING_SIZE:] /= CLASSICAL_EMPHASIS
    x = torch.from_numpy((features - mean) / std)
    y = torch.from_numpy(labels)
    counts = torch.bincount(y, minlength=len(HEAD_KINDS)).float()
    class_weight = counts.sum() / (len(HEAD_KINDS) * counts.clamp(min=1))
    class_weight[HEAD_KINDS.index(PHOTOGRAPH)] *= PHOTOGRAPH_WEIGHT
    linear = torch.nn.Linear(x.shape[1], len(HEAD_KINDS))
    optimiser = torch.optim.AdamW(linear.parameters(), lr=0.01, weight_decay=WEIGHT_DECAY)
    loss_fn = torch.nn.CrossEntropyLoss(weight=class_weight, label_smoothing=0.05)
    for _ in range(epochs):
        optimiser.zero_grad()
        loss = loss_fn(linear(x), y)
        loss.backward()
        optimiser.step()
    weight = linear.weight.detach().numpy().astype(np.float32)
    bias = linear.bias.detach().numpy().astype(np.float32)
    return mean.astype(np.float32), std.astype(np.float32), weight, bias


def predict(
    head: tuple[npt.NDArray[np.float32], ...], features: npt.NDArray[np.float32]
) -> npt.NDArray[np.int64]:
    import numpy as np

    mean, std, weight, bias = head
    logits = ((features - mean) / std) @ weight.T + bias
    return np.asarray(logits.argmax(axis=1), np.int64)


def write_manifest_entry(manifest_dir: Path, path: Path) -> dict[str, object]:
    """Add or replace the head's entry in the app's manifest, keeping every other entry as it is."""
    manifest = manifest_dir / MANIFEST_NAME
    document = json.loads(manifest.read_text(encoding="utf-8"))
    entry: dict[str, object] = {
        "name": HEAD_NAME,
        "version": HEAD_VERSION,
        "task": "kinds",
        "file": HEAD_FILE,
        "format": "numpy-npz",
        "labels": list(HEAD_KINDS),
        "sha256": sha256_file(path),
        "size": path.stat().st_size,
        "licence": LICENCE,
        "source": "python -m core.ai.train_kinds (logistic regression on the MobileNetV2 embedding and "
        "the classical statistics)",
    }
    models = [m for m in document["models"] if m.get("name") != HEAD_NAME] + [entry]
    document["models"] = models
    manifest.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return entry


def main(argv: list[str] | None = None) -> int:
    import numpy as np
    import torch

    from core.ai.device import choose_device
    from core.ai.inference import InferenceEngine

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-kind", type=int, default=PER_KIND, help="generated images of each kind")
    parser.add_argument("--out", type=Path, default=builtin_manifest_dir(), help="folder of manifest.json")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    torch.use_deterministic_algorithms(True)
    started = time.monotonic()
    engine = InferenceEngine(choose_device("cpu"), None, batch_size=32)
    kinds, groups, images = [], [], []
    for kind, group, image in training_images(args.per_kind):
        kinds.append(HEAD_KINDS.index(kind))
        groups.append(group)
        images.append(image)
    log.info("%d images made in %.0f s", len(images), time.monotonic() - started)
    embeddings = engine.subject_embeddings(images)
    classical = np.stack([classical_vector(image) for image in images])
    features = np.concatenate([embeddings, classical], axis=1).astype(np.float32)
    labels = np.asarray(kinds, np.int64)
    held_out = np.asarray(groups) % VALIDATION_EVERY == VALIDATION_EVERY - 1
    log.info("features in %.0f s", time.monotonic() - started)

    head = fit_head(features[~held_out], labels[~held_out])
    predicted = predict(head, features[held_out])
    truth = labels[held_out]
    for index, kind in enumerate(HEAD_KINDS):
        mask = truth == index
        train_count = int(((labels == index) & ~held_out).sum())
        accuracy = float((predicted[mask] == index).mean()) if mask.any() else float("nan")
        print(f"{kind:28s} train {train_count:4d}  validation {int(mask.sum()):3d}  accuracy {accuracy:.3f}")
    print(f"{'all':28s} validation accuracy {float((predicted == truth).mean()):.3f}")

    mean, std, weight, bias = fit_head(features, labels)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / HEAD_FILE
    save_kind_head(path, HEAD_KINDS, mean, std, weight, bias)
    entry = write_manifest_entry(args.out, path)
    print(
        f"wrote {path} ({entry['size']} bytes, sha256 {entry['sha256']}) "
        f"in {time.monotonic() - started:.0f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
