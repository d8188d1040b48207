"""Log rotation by period and size, compression and retention, on a fake clock."""

import gzip

import pytest

from obsconf.reference.rotation import RotatingFile, next_boundary, period_label

DAY = 86400
T0 = 1_700_000_000  # 2023-11-14T22:13:20Z


class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


def test_period_helpers():
    assert period_label(T0, "daily") == "2023-11-14"
    assert period_label(T0, "hourly") == "2023-11-14-22"
    assert next_boundary(T0, "daily") == (T0 // DAY + 1) * DAY
    assert next_boundary(T0, "never") == float("inf")


def test_daily_rotation_compresses_previous_day(tmp_path):
    clock = Clock(T0)
    f = RotatingFile(tmp_path / "daemon.log", frequency="daily", keep_files=7, clock=clock)
    f.write(b"day one\n")
    clock.now += DAY
    f.write(b"day two\n")
    f.close()
    rotated = f.rotated_files()
    assert [p.name for p in rotated] == ["daemon.log.2023-11-14.gz"]
    assert gzip.decompress(rotated[0].read_bytes()) == b"day one\n"
    assert (tmp_path / "daemon.log").read_bytes() == b"day two\n"


def test_hourly_rotation_without_compression(tmp_path):
    clock = Clock(T0)
    f = RotatingFile(tmp_path / "d.log", frequency="hourly", compress=False, clock=clock)
    f.write(b"a\n")
    clock.now += 3600
    f.write(b"b\n")
    f.close()
    assert [p.name for p in f.rotated_files()] == ["d.log.2023-11-14-22"]


def test_size_rotation_numbers_files_within_a_period(tmp_path):
    clock = Clock(T0)
    f = RotatingFile(tmp_path / "d.log", frequency="daily", max_size_mb=10 / (1024 * 1024), compress=False,
                     keep_files=10, clock=clock)
    for _ in range(4):
        f.write(b"123456\n")  # 7 bytes: every second write crosses the 10-byte cap
    f.close()
    assert [p.name for p in f.rotated_files()] == ["d.log.2023-11-14", "d.log.2023-11-14.1", "d.log.2023-11-14.2"]


def test_keep_files_prunes_oldest(tmp_path):
    clock = Clock(T0)
    f = RotatingFile(tmp_path / "d.log", frequency="daily", keep_files=2, clock=clock)
    for _ in range(5):
        f.write(b"x\n")
        clock.now += DAY
    f.write(b"last\n")
    f.close()
    assert [p.name for p in f.rotated_files()] == ["d.log.2023-11-17.gz", "d.log.2023-11-18.gz"]


def test_empty_file_is_not_rotated(tmp_path):
    clock = Clock(T0)
    f = RotatingFile(tmp_path / "d.log", clock=clock)
    clock.now += DAY
    f.write(b"x\n")
    f.close()
    assert f.rotated_files() == []


def test_bad_frequency_refused(tmp_path):
    with pytest.raises(ValueError, match="weekly"):
        RotatingFile(tmp_path / "d.log", frequency="weekly")
