"""The images a container stack runs: chosen per backend (:func:`obsconf.images.choose_images`), present in the
engine or pulled before anything starts, and testcontainers' Ryuk reaper checked."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from obsconf.errors import BackendMissing
from obsconf.images import choose_images
from obsconf.settings import Settings
from obsconf.stack.engine import docker_client, docker_host, has_image

if TYPE_CHECKING:
    import docker


def _pull_if_missing(client: docker.DockerClient, ref: str, progress: Callable[[str], None], note: str = "") -> str | None:
    """Pull ``ref`` unless the engine has it; None once it is there, else why the pull failed."""
    import docker

    if has_image(client, ref):
        return None
    progress(f"pulling {ref}{note} ...")
    try:
        client.images.pull(ref)
    except docker.errors.DockerException as exc:
        return str(exc)
    return None


def ensure_images(client: docker.DockerClient, images: Iterable[str], progress: Callable[[str], None]) -> None:
    """Pull what the engine lacks; a missing local image (or a failed pull) fails before anything starts."""
    missing_local = []
    for ref in sorted(set(images)):
        if ref.startswith("localhost/"):
            if not has_image(client, ref):
                missing_local.append(ref)
            continue
        failed = _pull_if_missing(client, ref, progress)
        if failed is not None:
            raise BackendMissing(
                f"image {ref} is not in the engine and pulling it failed ({failed}). Without a registry, build "
                "local images with `obsconf images build` (used automatically once present), or point "
                "OBSCONF_IMAGE_<NAME> at an image you have."
            )
    if missing_local:
        raise BackendMissing(f"local image(s) {', '.join(missing_local)} not found in the engine at {docker_host()}: "
                             "build them with `obsconf images build` (needs `obsconf provision` first)")


def check_ryuk(client: docker.DockerClient, progress: Callable[[str], None]) -> None:
    """testcontainers starts its Ryuk reaper unless told not to; without a registry its image is missing,
    and the first container start would fail with a bare 404. obsconf does not need Ryuk (it labels and
    reaps its own containers), so say how to turn it off."""
    from testcontainers.core.config import testcontainers_config

    if testcontainers_config.ryuk_disabled:
        return
    image = testcontainers_config.ryuk_image
    failed = _pull_if_missing(client, image, progress, " (testcontainers' Ryuk reaper)")
    if failed is not None:
        raise BackendMissing(
            f"testcontainers' Ryuk reaper is enabled, and its image {image} is not in the engine and cannot be "
            f"pulled ({failed}). Set TESTCONTAINERS_RYUK_DISABLED=true: obsconf labels its containers and removes "
            "them itself, also after a killed session (`bash scripts/setup-podman` prints the exports)."
        )


def _local_tags(client: docker.DockerClient) -> Callable[[str], list[str]]:
    """``local_tags(repo)`` answered by the engine, as ``choose_images`` wants it."""

    def local_tags(repo: str) -> list[str]:
        return [t.rsplit(":", 1)[1] for img in client.images.list(name=repo) for t in img.tags
                if t.startswith(repo + ":")]

    return local_tags


def choose_and_check_images(client: docker.DockerClient, settings: Settings,
                            progress: Callable[[str], None]) -> dict[str, str]:
    """backend -> image reference, every image present in the engine (pulled if need be), Ryuk checked."""
    chosen = choose_images(settings, lambda ref: has_image(client, ref), _local_tags(client))
    progress("images: " + ", ".join(f"{c.ref} ({c.why})" for c in chosen.values()))
    ensure_images(client, (c.ref for c in chosen.values()), progress)
    check_ryuk(client, progress)
    return {name: c.ref for name, c in chosen.items()}


def missing_images(settings: Settings) -> list[str]:
    """The images the container stack would use that the engine does not have (no pull is attempted)."""
    client = docker_client(timeout=10)
    try:
        chosen = choose_images(settings, lambda ref: has_image(client, ref), _local_tags(client))
        return [c.ref for c in chosen.values() if not has_image(client, c.ref)]
    finally:
        client.close()
