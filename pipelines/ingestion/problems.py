"""Problems that stop one file, in words a data steward understands."""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.masking import mask_text


@dataclass
class FileProblem(Exception):
    """A file that cannot be read as a whole. The other files of the export go on."""

    file: str
    message: str
    line: int | None = None
    column: str | None = None

    def __reduce__(self):  # picklable between Dagster steps
        return (FileProblem, (self.file, self.message, self.line, self.column))

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f", line {self.line}"
        if self.column:
            where += f", column {self.column}"
        return f"{where}: {mask_text(self.message)}"  # (a message may quote a cell: masked by its shape)
