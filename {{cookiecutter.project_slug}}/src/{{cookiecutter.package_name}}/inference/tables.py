"""Tables in and out of `mlops predict`, a chunk at a time, so memory stays flat however large
the file: CSV or Parquet, chosen by the file's extension.

The output is written to a hidden file beside it and renamed into place only when every row is
scored, so a failed or killed run never leaves half a file, nor replaces an earlier output with
one. A partial file left by a killed run is swept by the next run.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import BadInput, first_line
from ..process import alive

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
PARTIAL = re.compile(r"^\.(?P<name>.+)\.partial-(?P<pid>\d+)$")


def table_format(path: Path, what: str) -> str:
    found = FORMATS.get(path.suffix.lower())
    if found is None:
        raise BadInput(f"{what} {path.name}: use a .csv or .parquet file")
    return found


def read_chunks(
    path: Path, rows: int, text: frozenset[str] = frozenset()
) -> Iterator[pd.DataFrame]:
    """The table `rows` at a time. CSV numbers are parsed by pandas' C parser; the columns in
    `text` (kept ids, the model's text columns) stay text as written (`007` stays `007`). A
    cell that is not its column's type leaves that column as text: the signature check names
    it."""
    kind = table_format(path, "input")
    try:
        if kind == "csv":
            yield from pd.read_csv(path, chunksize=rows, dtype=dict.fromkeys(text, str))
        else:
            for batch in pq.ParquetFile(path).iter_batches(batch_size=rows):
                yield batch.to_pandas()
    except FileNotFoundError:
        raise BadInput(f"input {path} does not exist") from None
    except (OSError, ValueError, UnicodeDecodeError, pa.ArrowException) as exc:
        raise BadInput(f"cannot read input {path.name}: {first_line(exc)}") from None


class AtomicTable:
    """An output table that appears whole or not at all (a context manager)."""

    def __init__(self, path: Path) -> None:
        self.path, self.kind = path, table_format(path, "output")
        if not path.parent.is_dir():
            raise BadInput(f"output folder {path.parent} does not exist")
        self.partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
        self._csv: TextIO | None = None
        self._parquet: pq.ParquetWriter | None = None
        self.rows = 0

    def __enter__(self) -> AtomicTable:
        sweep_partials(self.path)
        return self

    def write(self, frame: pd.DataFrame) -> None:
        if self.kind == "csv":
            if self._csv is None:
                self._csv = self.partial.open("w", encoding="utf-8", newline="")
            frame.to_csv(self._csv, index=False, header=self.rows == 0)
        else:
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if self._parquet is None:  # a column empty in the first chunk is text, not null
                schema = pa.schema(
                    pa.field(f.name, pa.string()) if pa.types.is_null(f.type) else f
                    for f in table.schema
                )
                self._parquet = pq.ParquetWriter(self.partial, schema)
            self._parquet.write_table(table.cast(self._parquet.schema))
        self.rows += len(frame)

    def commit(self) -> None:
        """Close the file and rename it into place: the one step where the output appears."""
        self._close()
        os.replace(self.partial, self.path)

    def _close(self) -> None:
        if self._csv is not None:
            self._csv.close()
            self._csv = None
        if self._parquet is not None:
            self._parquet.close()
            self._parquet = None

    def __exit__(self, *_exc) -> None:
        self._close()
        self.partial.unlink(missing_ok=True)  # after commit it no longer exists


def sweep_partials(output: Path) -> None:
    """Remove the partial files of runs that were killed (their process is gone)."""
    for path in output.parent.glob(f".{output.name}.partial-*"):
        found = PARTIAL.match(path.name)
        if found and not alive(int(found["pid"])):
            path.unlink(missing_ok=True)
