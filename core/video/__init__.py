"""Video review in core: frame-accurate clips, timecodes, filmstrips and scene cuts (Qt-free).

- :mod:`core.video.frames`: :class:`~core.video.frames.FrameSource` (a video file through PyAV, or an
  image sequence) with exact frame counts and frame-accurate random access.
- :mod:`core.video.timecode`: SMPTE timecodes, drop-frame included.
- :mod:`core.video.clock`: the playback clock (which frame is due now) shared by players.
- :mod:`core.video.filmstrip` and :mod:`core.video.scene_cuts`: products for the grid and metadata.
- :mod:`core.video.steps`: the ``filmstrip`` and ``scene_cuts`` job steps.

PyAV and OpenCV are imported inside functions, so importing this package stays cheap.
"""
