"""Where StratoPipe keeps its files.

One resolved set of directories for a run. ``--data-dir`` or ``STRATOPIPE_DATA_DIR`` put everything
(catalog, cache, config, logs) under one folder so tests and studio setups never touch a real profile.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "StratoPipe"
DATA_DIR_ENV = "STRATOPIPE_DATA_DIR"


@dataclass(frozen=True)
class AppPaths:
    data_dir: Path
    cache_dir: Path
    config_dir: Path
    log_dir: Path

    @property
    def catalog_file(self) -> Path:
        return self.data_dir / "catalog.sqlite3"

    @property
    def thumbnail_dir(self) -> Path:
        return self.cache_dir / "thumbnails"

    @property
    def artifact_dir(self) -> Path:
        return self.cache_dir / "artifacts"

    @property
    def library_dir(self) -> Path:
        """Where "copy into the project library" puts files."""
        return self.data_dir / "library"

    @property
    def model_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def settings_file(self) -> Path:
        return self.config_dir / "settings.json"

    def ensure(self) -> AppPaths:
        for directory in (self.data_dir, self.cache_dir, self.config_dir, self.log_dir):
            directory.mkdir(parents=True, exist_ok=True)
        return self

    @classmethod
    def resolve(cls, data_dir: str | os.PathLike[str] | None = None) -> AppPaths:
        """Explicit argument first, then the environment, then the platform's user dirs."""
        chosen = data_dir if data_dir is not None else os.environ.get(DATA_DIR_ENV)
        if chosen:
            root = Path(chosen).expanduser().resolve()
            return cls(
                data_dir=root,
                cache_dir=root / "cache",
                config_dir=root / "config",
                log_dir=root / "logs",
            )
        return cls(
            data_dir=Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
            cache_dir=Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)),
            config_dir=Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
            log_dir=Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)),
        )
