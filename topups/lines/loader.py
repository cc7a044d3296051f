"""A template loader that finds each registered product line's templates in its own package
(``<line package>/templates/``), so a line's fragments live with its code."""

from __future__ import annotations

import sys
from pathlib import Path

from django.template.loaders.filesystem import Loader as FilesystemLoader

from topups import lines


class Loader(FilesystemLoader):
    def get_dirs(self):
        dirs = []
        for line in lines.all_lines():
            module = sys.modules[type(line).__module__]  # the line's package (or a module in it)
            dirs.append(Path(module.__file__).resolve().parent / "templates")
        return dirs
