# Whole-file storage in a directory of the board's filesystem (littlefs on ESP32).
# The same code runs on CPython under the simulator (open and os are all it uses).
import os


class FileStorage:
    def __init__(self, root):
        self._root = root.rstrip("/")

    def _path(self, name):
        return self._root + "/" + name

    def read(self, name):
        """Whole file as bytes, or None if it does not exist."""
        try:
            with open(self._path(name), "rb") as f:
                return f.read()
        except OSError:
            return None

    def write(self, name, data):
        """Replace the file. Not atomic: callers that need atomicity use two slots."""
        with open(self._path(name), "wb") as f:
            f.write(data)
        if hasattr(os, "sync"):
            os.sync()
