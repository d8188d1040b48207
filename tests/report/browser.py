"""Headless Chromium (Debian package ``chromium``, installed by scripts/bootstrap): the parsed DOM and a
screenshot of a local page. Every run gets a fresh profile directory and no network of its own."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync")


def chromium() -> str:
    """The browser binary; its absence fails (never skips) with the way to install it."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("headless Chromium is not installed: run `bash scripts/bootstrap` (it runs "
                    "`apt-get install -y --no-install-recommends chromium` when chromium is missing)", pytrace=False)
    return found


def _run(args: list[str], timeout: float = 90.0) -> str:
    # its own session: on a timeout the whole process group (renderer, zygote) goes, not only the parent
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"chromium did not finish within {timeout:.0f} s: {' '.join(args)}", pytrace=False)
    if proc.returncode != 0:
        pytest.fail(f"chromium exited {proc.returncode}: {' '.join(args)}\n{err[-3000:]}", pytrace=False)
    return out


def dump_dom(page: Path, profile_dir: Path) -> str:
    """The DOM Chromium built from ``page`` (serialized after load)."""
    return _run([chromium(), *FLAGS, f"--user-data-dir={profile_dir}", "--dump-dom", page.resolve().as_uri()])


def screenshot(page: Path, png: Path, profile_dir: Path, size: tuple[int, int] = (1400, 2000)) -> Path:
    """A PNG of the top ``size`` pixels of ``page``, as a user's window would show it."""
    _run([chromium(), *FLAGS, f"--user-data-dir={profile_dir}", f"--screenshot={png}",
          f"--window-size={size[0]},{size[1]}", page.resolve().as_uri()])
    if not png.is_file():
        pytest.fail(f"chromium wrote no screenshot to {png}", pytrace=False)
    return png


def colour_share(png: Path, rgb: tuple[int, int, int], box: tuple[int, int, int, int] | None = None,
                 tolerance: int = 40) -> float:
    """Share of pixels (in ``box``) within ``tolerance`` of ``rgb``: is the failure colour on screen?"""
    import numpy as np
    from PIL import Image

    with Image.open(png) as img:
        rgb_img = img.convert("RGB")
        pixels = np.asarray(rgb_img.crop(box) if box else rgb_img, dtype=np.int16).reshape(-1, 3)
    near = np.all(np.abs(pixels - np.asarray(rgb, dtype=np.int16)) <= tolerance, axis=1)
    return float(near.mean()) if len(pixels) else 0.0
