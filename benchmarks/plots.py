"""Plots of the committed benchmark results, for the documentation.

Reads the tables that the benchmarks wrote (``benchmarks/models_results.md`` and
``benchmarks/e2e_results.md``) and draws them into ``docs/images/``:

``models.png``  what watching a model costs a create, an update and a load, as the ratio to the
                unobserved model, for each variant;
``e2e.png``     the end-to-end p50 latency of each variant, paced and saturated.

Nothing is measured here: the figures are those of the last runs, so the plots always show what
the tables show. ``scripts/bench --plots`` runs it.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
IMAGES = HERE.parent / "docs" / "images"


def table(markdown: str, heading: str) -> list[list[str]]:
    """The rows of the first table from the line that starts with ``heading`` on (header row excluded)."""
    lines = markdown.splitlines()
    start = next(number for number, line in enumerate(lines) if line.startswith(heading))
    rows: list[list[str]] = []
    for line in lines[start:]:
        if line.startswith("|"):
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            if not set("".join(cells)) <= {"-", ":"}:
                rows.append(cells)
        elif rows:
            break
    if not rows:
        raise ValueError(f"no table after {heading!r}")
    return rows[1:]


def ratio(cell: str) -> float:
    found = re.fullmatch(r"([\d.]+)x", cell)
    if found is None:
        raise ValueError(f"not a ratio: {cell!r}")
    return float(found.group(1))


def milliseconds(cell: str) -> float:
    found = re.fullmatch(r"([\d.,]+) ms", cell)
    if found is None:
        raise ValueError(f"not milliseconds: {cell!r}")
    return float(found.group(1).replace(",", ""))


def short(variant: str) -> str:
    """A variant's name without Markdown, short enough for an axis."""
    plain = variant.replace("`", "").replace("This package: ", "").replace("This package, ", "Observer, ")
    plain = plain.replace(" (synchronous)", "").replace(" (reference)", "")
    plain = plain.replace(", a table of its own (the run's noise)", " (the noise)")
    return plain.replace("… the same Observer, ", "Observer, ").split(":")[0]


def models_plot(results: str, output: Path) -> None:
    import matplotlib.pyplot as plt

    rows = table(results, "| Variant |")
    names = [short(row[0]) for row in rows]
    kinds = [("Create", 2), ("Update", 4), ("Load 1,000 rows", 6)]
    figure, axes = plt.subplots(figsize=(9, 4.8), layout="constrained")
    width = 0.27
    for offset, (kind, column) in enumerate(kinds):
        values = [ratio(row[column]) if row[column] else 0.0 for row in rows]
        positions = [index + (offset - 1) * width for index in range(len(rows))]
        axes.barh(positions, values, height=width, label=kind)
    axes.axvline(1.0, color="black", linewidth=0.8)
    axes.set_yticks(range(len(rows)), names)
    axes.invert_yaxis()
    axes.set_xlabel("time against the unobserved model (1.00x = the same)")
    axes.set_xlim(0.8, max(1.7, axes.get_xlim()[1]))
    axes.set_title("What watching a model costs (SQLite in memory; lower is better)")
    axes.legend(loc="lower right")
    figure.savefig(output, dpi=110)
    plt.close(figure)


def e2e_plot(results: str, output: Path) -> None:
    import matplotlib.pyplot as plt

    saturated = table(results, "## Saturated")
    paced = table(results, "## Paced")
    names = [short(row[0]) for row in paced]
    figure, axes = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained", sharey=True)
    for axis, rows, title in ((axes[0], paced, "Paced load"), (axes[1], saturated, "Saturated load")):
        values = [milliseconds(row[3]) for row in rows]
        axis.barh(range(len(rows)), values, color=["grey", "tab:red", "tab:blue", "tab:cyan"][: len(rows)])
        axis.set_xlim(0, max(values) * 1.3)
        axis.set_xlabel("p50 latency, ms")
        axis.set_title(title)
        for index, value in enumerate(values):
            axis.annotate(f"{value:g} ms", (value, index), xytext=(4, 0), textcoords="offset points", va="center")
    axes[0].set_yticks(range(len(names)), names)
    axes[0].invert_yaxis()
    figure.suptitle("A view that saves a row, a 50 ms handler per row: the request's latency")
    figure.savefig(output, dpi=110)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, default=IMAGES, help="the folder to write the PNG files to")
    arguments = parser.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    arguments.output.mkdir(parents=True, exist_ok=True)
    models_plot((HERE / "models_results.md").read_text(encoding="utf-8"), arguments.output / "models.png")
    e2e_plot((HERE / "e2e_results.md").read_text(encoding="utf-8"), arguments.output / "e2e.png")
    print(f"wrote {arguments.output / 'models.png'} and {arguments.output / 'e2e.png'}")


if __name__ == "__main__":
    main()
