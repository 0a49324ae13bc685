from __future__ import annotations

from pathlib import Path

from core.media.sequences import group_sequences


def _names(folder: Path, names: list[str]) -> list[Path]:
    return [folder / name for name in names]


def test_dot_separated_frames_group_with_gaps_reported() -> None:
    shot = Path("/proj/shot010")
    files = _names(shot, [f"comp.{f:04d}.exr" for f in (1001, 1002, 1003, 1005, 1008)])
    sequences, singles = group_sequences(files)
    assert singles == []
    (seq,) = sequences
    assert (seq.first, seq.last, seq.padding) == (1001, 1008, 4)
    assert seq.display_name == "comp.[1001-1008].exr"
    assert seq.pattern == "comp.####.exr"
    assert seq.missing_frames == (1004, 1006, 1007)
    assert seq.paths[0] == shot / "comp.1001.exr"


def test_input_order_does_not_matter() -> None:
    files = _names(Path("/p"), ["a.0003.png", "a.0001.png", "a.0002.png"])
    (seq,), _ = group_sequences(files)
    assert seq.frames == (1, 2, 3)
    assert [p.name for p in seq.paths] == ["a.0001.png", "a.0002.png", "a.0003.png"]


def test_underscore_and_bare_numbers_group_for_images_only() -> None:
    folder = Path("/renders")
    files = _names(
        folder,
        ["beauty_001.png", "beauty_002.png", "beauty_003.png", "depth10.tif", "depth11.tif",
         "take_01.mov", "take_02.mov", "rock_01.obj", "rock_02.obj", "notes_1.txt", "notes_2.txt"],
    )  # fmt: skip
    sequences, singles = group_sequences(files)
    assert sorted(s.display_name for s in sequences) == ["beauty_[001-003].png", "depth[10-11].tif"]
    assert sorted(p.name for p in singles) == sorted(
        ["take_01.mov", "take_02.mov", "rock_01.obj", "rock_02.obj", "notes_1.txt", "notes_2.txt"]
    )


def test_videos_and_geometry_never_group_even_with_dots() -> None:
    files = _names(Path("/x"), ["clip.0001.mp4", "clip.0002.mp4", "mesh.0001.ply", "mesh.0002.ply"])
    sequences, singles = group_sequences(files)
    assert sequences == []
    assert singles == files


def test_single_numbered_file_stays_single_and_min_length_applies() -> None:
    folder = Path("/x")
    files = _names(folder, ["plate.0001.exr", "bg.0001.exr", "bg.0002.exr"])
    sequences, singles = group_sequences(files)
    assert [s.display_name for s in sequences] == ["bg.[0001-0002].exr"]
    assert singles == [folder / "plate.0001.exr"]
    sequences, singles = group_sequences(files, min_length=3)
    assert sequences == []
    assert singles == files


def test_different_padding_and_folders_are_different_sequences() -> None:
    files = [
        *_names(Path("/a"), ["s.0001.exr", "s.0002.exr", "s.1.exr", "s.2.exr", "s.3.exr"]),
        *_names(Path("/b"), ["s.0001.exr", "s.0002.exr"]),
    ]
    sequences, singles = group_sequences(files)
    assert singles == []
    summary = sorted((str(s.directory), s.display_name, len(s.frames)) for s in sequences)
    assert summary == [
        ("/a", "s.[0001-0002].exr", 2),
        ("/a", "s.[1-3].exr", 3),
        ("/b", "s.[0001-0002].exr", 2),
    ]


def test_frame_numbers_growing_past_their_padding_stay_in_one_sequence() -> None:
    files = _names(Path("/x"), ["f.0998.exr", "f.0999.exr", "f.1000.exr", "f.1001.exr"])
    (seq,), singles = group_sequences(files)
    assert singles == []
    assert seq.frames == (998, 999, 1000, 1001)
    assert seq.padding == 4


def test_unpadded_numbers_of_mixed_length() -> None:
    files = _names(Path("/x"), [f"frame.{n}.png" for n in range(8, 13)])
    (seq,), _ = group_sequences(files)
    assert seq.display_name == "frame.[8-12].png"
    assert seq.missing_frames == ()


def test_camera_photos_and_versions_are_not_sequences() -> None:
    files = _names(
        Path("/photos"),
        ["IMG_0001.JPG", "IMG_0002.JPG", "DSC_1234.jpg", "DSC_1235.jpg", "comp_v001.exr",
         "comp_v002.exr"],
    )  # fmt: skip
    sequences, singles = group_sequences(files)
    assert sequences == []
    assert singles == files
