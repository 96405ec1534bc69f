import json

import numpy as np
import pandas as pd
import pytest

from bayes.io import (
    Column,
    DirectFile,
    InputError,
    atomic_path,
    data_hash,
    read_table,
    validate_frame,
    write_json,
    write_table,
)

SCHEMA = [
    Column("segment", "str", allowed=("a", "b")),
    Column("users", "int", min=0),
    Column("rate", "float", min=0, max=1),
]


def test_validate_names_column_and_rows():
    df = pd.DataFrame({"segment": ["a", "b", "c"], "users": [1, 2, 3], "rate": [0.1, 0.2, 0.3]})
    with pytest.raises(InputError) as e:
        validate_frame(df, SCHEMA, source="x.csv")
    msg = str(e.value)
    assert "x.csv" in msg and "segment" in msg and "4" in msg  # row 3 of data = line 4
    assert e.value.rows == [4]


@pytest.mark.parametrize(
    "frame, column",
    [
        ({"segment": ["a"], "users": [-1], "rate": [0.1]}, "users"),
        ({"segment": ["a"], "users": [1.5], "rate": [0.1]}, "users"),
        ({"segment": ["a"], "users": ["x"], "rate": [0.1]}, "users"),
        ({"segment": ["a"], "users": [1], "rate": [1.1]}, "rate"),
        ({"segment": ["a"], "users": [1], "rate": [np.nan]}, "rate"),
    ],
)
def test_validate_rejects_bad_values(frame, column):
    with pytest.raises(InputError) as e:
        validate_frame(pd.DataFrame(frame), SCHEMA, source="f")
    assert e.value.column == column


def test_missing_column_and_empty(tmp_path):
    with pytest.raises(InputError, match="missing required column"):
        validate_frame(pd.DataFrame({"segment": ["a"]}), SCHEMA)
    empty = tmp_path / "e.csv"
    empty.write_text("")
    with pytest.raises(InputError, match="empty"):
        read_table(empty, SCHEMA)
    header_only = tmp_path / "h.csv"
    header_only.write_text("segment,users,rate\n")
    with pytest.raises(InputError, match="empty"):
        read_table(header_only, SCHEMA)


def test_roundtrip_csv_parquet(tmp_path):
    df = pd.DataFrame({"segment": ["a", "b"], "users": [1, 2], "rate": [0.1, 0.2]})
    for name in ("t.csv", "t.parquet"):
        write_table(df, tmp_path / name)
        back = read_table(tmp_path / name, SCHEMA)
        pd.testing.assert_frame_equal(back.reset_index(drop=True), df, check_dtype=False)
    assert data_hash(df) == data_hash(df.copy())
    assert data_hash(df) != data_hash(df.iloc[::-1])


def test_csv_identifiers_are_read_as_text(tmp_path):
    """Identifier columns (``id``, ``email``, ``*_id``) and columns a schema declares ``str``
    keep their text (``007``, ``00``, ``1e5``); a schema's ``int`` id and other columns are
    still numbers."""
    path = tmp_path / "t.csv"
    path.write_text(
        "customer_id,ID,email,msg_id,code,user_id,amount\n"
        "007,00,1e5,0x1,010,007,1.5\n"
        "7,0,10,-0,10,7,2\n"
    )
    df = read_table(path, [Column("code", "str"), Column("user_id", "int")])
    assert list(df["customer_id"]) == ["007", "7"]
    assert list(df["ID"]) == ["00", "0"]
    assert list(df["email"]) == ["1e5", "10"]
    assert list(df["msg_id"]) == ["0x1", "-0"]
    assert list(df["code"]) == ["010", "10"]
    assert list(df["user_id"]) == [7, 7] and df["amount"].dtype == float
    raw = read_table(path, read_columns=["customer_id", "amount"])
    assert list(raw["customer_id"]) == ["007", "7"] and raw["amount"].dtype == float


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.json"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("boom")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []
    write_json({"x": np.float64(1.5), "n": np.int64(2), "nan": float("nan")}, target)
    assert json.loads(target.read_text()) == {"x": 1.5, "n": 2, "nan": None}


def _pieces(rng, sizes):
    return [rng.integers(0, 256, n, dtype=np.uint8).tobytes() for n in sizes]


@pytest.mark.parametrize(
    "sizes",
    [
        [],  # an empty file
        [100],  # under one block: only the tail
        [4096],  # exactly one block
        [8192, 8192],  # exactly the staging buffer, twice
        [5000, 3, 12000, 1, 8191, 40000],  # blocks and a tail across many writes
        [100_000],  # one write larger than the staging buffer
    ],
)
def test_direct_file_writes_the_bytes_given(tmp_path, sizes):
    """Whatever the sizes of the writes against the block and the staging buffer (8 KiB
    here), the file holds exactly the bytes written, in order, and the whole buffers went
    out the way the file was opened."""
    rng = np.random.default_rng(len(sizes))
    pieces = _pieces(rng, sizes)
    path = tmp_path / "out.bin"
    with DirectFile(path, stage_bytes=8192) as f:
        direct = f.direct
        for p in pieces:
            f.write(p)
        if sum(sizes) >= 8192:
            assert f.direct == direct  # (the full buffers were written the same way)
    assert path.read_bytes() == b"".join(pieces)


def test_direct_file_falls_back_to_ordinary_writes(tmp_path, monkeypatch):
    """A file system that refuses ``O_DIRECT`` — at ``open`` or at the first write (EINVAL)
    — gets ordinary writes and the same bytes; other write errors are raised."""
    import errno
    import os

    if not hasattr(os, "O_DIRECT"):
        pytest.skip("no O_DIRECT on this system")
    rng = np.random.default_rng(7)
    pieces = _pieces(rng, [20000, 333, 9000])
    real_open, real_write = os.open, os.write

    def refuse_open(path, flags, *args):
        if flags & os.O_DIRECT:
            raise OSError(errno.EINVAL, "no direct I/O here")
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", refuse_open)
    with DirectFile(tmp_path / "a.bin", stage_bytes=8192) as f:
        assert not f.direct
        for p in pieces:
            f.write(p)
    assert (tmp_path / "a.bin").read_bytes() == b"".join(pieces)
    monkeypatch.setattr(os, "open", real_open)

    refused = []

    def refuse_first_direct_write(fd, data):
        import fcntl

        if fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_DIRECT and not refused:
            refused.append(len(data))
            raise OSError(errno.EINVAL, "no direct I/O here")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", refuse_first_direct_write)
    with DirectFile(tmp_path / "b.bin", stage_bytes=8192) as f:
        assert f.direct
        for p in pieces:
            f.write(p)
        assert not f.direct and refused == [8192]
    assert (tmp_path / "b.bin").read_bytes() == b"".join(pieces)

    def full_disk(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", full_disk)
    with pytest.raises(OSError, match="No space left"):
        with DirectFile(tmp_path / "c.bin", stage_bytes=8192) as f:
            f.write(pieces[0])


def test_direct_file_after_a_failure_writes_nothing_more(tmp_path):
    """Leaving the block on an error does not write what is still staged (the caller's
    atomic_path then removes the file)."""
    path = tmp_path / "x.bin"
    with pytest.raises(RuntimeError, match="boom"):
        with DirectFile(path, stage_bytes=8192) as f:
            f.write(b"a" * 10000)  # one full buffer written, 1808 bytes staged
            raise RuntimeError("boom")
    assert path.read_bytes() == b"a" * 8192
    with pytest.raises(RuntimeError):
        with atomic_path(tmp_path / "y.bin") as tmp:
            with DirectFile(tmp) as f:
                f.write(b"b" * 5000)
                raise RuntimeError("boom")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.bin"]
