"""One measured figure, and the one way figures are printed: `bench: NAME VALUE UNIT`."""

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    unit: str

    def line(self) -> str:
        shown = "nan" if math.isnan(self.value) else f"{self.value:.4g}"
        return f"bench: {self.name} {shown} {self.unit}"
