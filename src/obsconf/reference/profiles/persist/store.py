"""Where persist keeps its snapshots: an S3 object store over HTTP (boto3), or a local directory standing in
for the bucket; and how a storage failure maps to the error the persist binding would raise."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

TRANSIENT_CODES = {"SlowDown", "Throttling", "ThrottlingException", "RequestTimeout", "RequestTimeTooSkewed",
                   "InternalError", "ServiceUnavailable", "503", "500", "502", "504"}
DENIED_CODES = {"AccessDenied", "SignatureDoesNotMatch", "InvalidAccessKeyId", "403", "AllAccessDisabled"}
MISSING_CODES = {"NoSuchKey", "404", "NotFound"}

_DEFAULT_MESSAGES = {
    "NoSuchKey": "The specified key does not exist.",
    "NoSuchBucket": "The specified bucket does not exist",
    "AccessDenied": "Access Denied",
}


class StoreError(Exception):
    """A storage call failed; ``code`` is the S3 error code (or an errno-like name for local files)."""

    def __init__(self, code: str, message: str, transient: bool) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.transient = transient
        self.retries = 0  # retries made before giving up (set by the retry loop)


def http_status_for(code: str) -> tuple[int, str]:
    """HTTP status and Python exception name that the persist binding would raise for ``code``."""
    if code in MISSING_CODES or code == "FileNotFoundError":
        return 404, "FileNotFoundError"
    if code in DENIED_CODES or code == "PermissionError":
        return 403, "PermissionError"
    return 500, "PersistError"


def store_error(exc: Exception) -> StoreError:
    """Translate botocore's exceptions into :class:`StoreError` (transient or not)."""
    from botocore.exceptions import BotoCoreError, ClientError

    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        code = str(err.get("Code") or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "Unknown"))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        message = str(err.get("Message") or _DEFAULT_MESSAGES.get(code) or exc)
        if code in ("404", "NotFound"):
            code = "NoSuchKey"
            message = _DEFAULT_MESSAGES[code]
        return StoreError(code, message, code in TRANSIENT_CODES or status >= 500 or status == 429)
    if isinstance(exc, BotoCoreError):
        # connection refused/reset, timeouts, truncated bodies: worth a retry
        return StoreError(type(exc).__name__, str(exc), True)
    return StoreError(type(exc).__name__, str(exc), False)


@dataclass
class StoredObject:
    data: bytes
    metadata: dict[str, str]


class S3Store:
    """The object store over HTTP: boto3 with ``endpoint_url`` and path-style addressing."""

    kind = "s3"

    def __init__(self, url: str, access_key: str, secret_key: str, bucket: str, timeout: float) -> None:
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.url = url
        session = boto3.session.Session()  # never the process-wide default session
        self.client = session.client(
            "s3", endpoint_url=url, aws_access_key_id=access_key or "obsconf",
            aws_secret_access_key=secret_key or "obsconf", region_name="us-east-1",
            config=Config(s3={"addressing_style": "path"}, signature_version="s3v4",
                          retries={"total_max_attempts": 1, "mode": "standard"},  # our loop retries
                          connect_timeout=min(2.0, timeout), read_timeout=timeout,
                          request_checksum_calculation="when_required",
                          response_checksum_validation="when_required"),
        )

    def ensure_bucket(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except Exception as exc:  # noqa: BLE001 - translated; anything else means "create it"
            err = store_error(exc)
            if err.transient or err.code in DENIED_CODES:
                raise err from None
            try:
                self.client.create_bucket(Bucket=self.bucket)
            except Exception as exc2:  # noqa: BLE001 - translated
                raise store_error(exc2) from None

    def put(self, key: str, data: bytes, metadata: dict[str, str]) -> None:
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=data, Metadata=metadata,
                                   ContentType="application/gzip")
        except Exception as exc:  # noqa: BLE001 - translated into StoreError
            raise store_error(exc) from None

    def get(self, key: str) -> StoredObject:
        try:
            resp = self.client.get_object(Bucket=self.bucket, Key=key)
            return StoredObject(resp["Body"].read(), dict(resp.get("Metadata") or {}))
        except Exception as exc:  # noqa: BLE001 - translated into StoreError
            raise store_error(exc) from None

    def head(self, key: str) -> dict[str, Any]:
        try:
            resp = self.client.head_object(Bucket=self.bucket, Key=key)
            return {"size": int(resp.get("ContentLength", 0)), "metadata": dict(resp.get("Metadata") or {})}
        except Exception as exc:  # noqa: BLE001 - translated into StoreError
            raise store_error(exc) from None

    def close(self) -> None:
        self.client.close()


class LocalStore:
    """A directory standing in for the bucket when no object store is configured."""

    kind = "local"

    def __init__(self, root: Path, bucket: str) -> None:
        self.root = root / bucket
        self.bucket = bucket
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise StoreError("AccessDenied", f"key {key!r} escapes the store", False)
        return path

    def ensure_bucket(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)

    def put(self, key: str, data: bytes, metadata: dict[str, str]) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        path.with_name(path.name + ".meta").write_bytes(orjson.dumps(metadata))

    def get(self, key: str) -> StoredObject:
        path = self._path(key)
        try:
            data = path.read_bytes()
            meta = orjson.loads(path.with_name(path.name + ".meta").read_bytes())
        except FileNotFoundError:
            raise StoreError("NoSuchKey", f"no snapshot at {key}", False) from None
        except PermissionError as exc:
            raise StoreError("AccessDenied", str(exc), False) from None
        return StoredObject(data, meta)

    def head(self, key: str) -> dict[str, Any]:
        obj = self.get(key)
        return {"size": len(obj.data), "metadata": obj.metadata}

    def close(self) -> None:
        pass

