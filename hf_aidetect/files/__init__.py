"""Safe file writing: every output appears complete or not at all, and its location is checked up front.

The bottom layer of the package (it imports only :mod:`hf_aidetect.errors`). Everything hf_aidetect writes
goes through here:

* :func:`atomic_write_bytes` / :func:`atomic_write_text` / :func:`atomic_write_json` and the
  :func:`atomic_open` stream write a hidden temporary file in the target's folder, ``fsync`` it, then
  ``os.replace`` it over the target: a reader, a crash or ``kill -9`` sees the old file or the new one,
  never half of each. A failure (disk full, interrupt) removes the temporary file; the target is untouched.
* :func:`atomic_path` hands a temporary *name* to writers that want one (matplotlib, ``torch.save``).
* :func:`atomic_directory` builds a whole folder under a temporary name and renames it into place.
* :func:`check_output_path` refuses, before any heavy work, an output that would destroy an input, land in
  a protected folder, silently replace an existing file, or cannot be written; the
  :class:`~hf_aidetect.errors.OutputError` names the path, why, and what to do, in one line.

Bytes go to disk through :func:`os.write` only, so tests can simulate a full disk by patching it.
"""

from __future__ import annotations

from hf_aidetect.files.atomic import (
    atomic_open,
    atomic_path,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    fsync_directory,
)
from hf_aidetect.files.checks import check_output_path, check_writable_folder
from hf_aidetect.files.common import PARTIAL_MARK, describe_os_error, is_partial
from hf_aidetect.files.folders import atomic_directory, remove_directory, replace_directory

__all__ = [
    "PARTIAL_MARK",
    "atomic_directory",
    "atomic_open",
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "check_output_path",
    "check_writable_folder",
    "describe_os_error",
    "fsync_directory",
    "is_partial",
    "remove_directory",
    "replace_directory",
]
