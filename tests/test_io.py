import json

import numpy as np
import pandas as pd
import pytest

from bayes.io import (
    Column,
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
