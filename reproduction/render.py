"""RESULTS.md and README.md numbers, written from ``results/*.json`` only: ``cli.py reproduce --render``.

A document marks what is rendered with a pair of comments::

    <!-- reproduce:begin aim-table2 -->          the whole table: paper values beside the zoo's
    <!-- reproduce:end aim-table2 -->
    <!-- reproduce:begin aim-table2:AIM (ours) -->   one row as a sentence (the README's default job)
    <!-- reproduce:end aim-table2:AIM (ours) -->

Everything between a pair is replaced; everything outside is left alone. No number between the markers
is typed by hand, and ``tests/test_reproduce.py`` fails when the committed files differ from what the
committed result files render.
"""

from __future__ import annotations

import re
from pathlib import Path

from reproduction.campaign import ROOT, describe_budget, load_results, results_path
from reproduction.tables import TABLES, Column, Metric, Row, Table

DOCUMENTS = ("RESULTS.md", "README.md")
MARKER = re.compile(r"(<!-- reproduce:begin (?P<name>[^>]+?) -->\n)(?P<body>.*?)(<!-- reproduce:end (?P=name) -->)",
                    re.DOTALL)


def mean_std(summary: dict, metric: Metric) -> str:
    value = summary.get(metric.key)
    if value is None:
        return "—"
    return f"{value['mean']:.{metric.digits}f} ± {value['std']:.{metric.digits}f}"


def budget_text(cell: dict) -> str:
    finished = [run for run in cell["runs"].values() if run.get("status", "finished") == "finished"]
    steps = sorted({run["steps"] for run in finished or cell["runs"].values()})
    trained = " / ".join(f"{step:,}" for step in steps) + " iterations"
    return f"{trained}, a reduced budget" if cell["spec"]["budget"] else f"{trained}, the config's budget"


def command_text(table: Table, row: Row, column: Column) -> str:
    if column.name not in row.runs:
        return "—"
    run = row.runs[column.name]
    if run is None:
        return "no zoo model"
    return f"`{' '.join((run.config, *run.overrides))}`"


def render_table(table: Table, results: dict, out_name: str) -> str:
    cells = results.get("cells", {})
    single = len(table.columns) == 1
    header = ["Row"]
    for column in table.columns:
        prefix = "" if single else f"{column.name} "
        header += [f"{prefix}{metric.label} (paper)" for metric in column.metrics]
        header += [f"{prefix}{metric.label} (zoo)" for metric in column.metrics]
    header += ["Seeds", "Budget per run", "Zoo config", "Notes"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    devices, commits, dates = set(), set(), set()
    for row in table.rows:
        values, seeds, budgets, commands, stopped = [row.name + (" *(extra)*" if row.extra else "")], [], [], [], []
        for column in table.columns:
            cell = cells.get(row.name if single else f"{row.name} @ {column.name}")
            values += [row.paper.get(metric.key if single else f"{column.name}:{metric.key}", "—")
                       for metric in column.metrics]
            if column.name not in row.runs:  # a zoo-added row that only runs on some datasets
                values += ["—"] * len(column.metrics)
            elif row.runs[column.name] is None:
                values += ["no zoo model"] * len(column.metrics)
            elif cell is None or not cell["runs"]:
                values += ["not run yet"] * len(column.metrics)
            else:
                values += [mean_std(cell["summary"], metric) for metric in column.metrics]
                seeds.append(str(len(cell["runs"])))
                budgets.append(budget_text(cell))
                early = [seed for seed, run in cell["runs"].items() if run.get("status", "finished") != "finished"]
                if early:
                    stopped.append(f"seed(s) {', '.join(early)} stopped early on a non-finite loss: measured at "
                                   "their last good checkpoint, or left out of the mean where none was written "
                                   "(the results file says which)")
                for run in cell["runs"].values():
                    devices.add(run["device"])
                    commits.add(run["commit"])
                    dates.add(run["started"][:10])
            commands.append(command_text(table, row, column))
        values += [" / ".join(seeds) or "—", " / ".join(budgets) or "—", " / ".join(commands),
                   "; ".join(filter(None, [row.note, *stopped]))]
        lines.append("| " + " | ".join(values) + " |")
    protocols = "; ".join(f"{column.name}: `evaluate --metrics {','.join(column.protocol.metrics)} "
                          f"--num_samples {column.protocol.num_samples}` on `{column.protocol.checkpoint_file}`"
                          + (f" ({column.protocol.note})" if column.protocol.note else "")
                          for column in table.columns)
    facts = [f"Rendered by `python cli.py reproduce --render` from `{out_name}/{table.name}.json`, written by "
             f"`python cli.py reproduce {table.name}`. Zoo cells: mean ± sample std over the seeds (0..N-1), "
             "each seed's training and evaluation seeded with it.",
             f"Protocol: {protocols}."]
    if table.note:
        facts.append(table.note)
    if devices:
        facts.append(f"Measured on {'; '.join(sorted(devices))}; commits {', '.join(sorted(commits))}; "
                     f"{' to '.join(sorted(dates)[::max(1, len(dates) - 1)])}.")
    return "\n".join(facts) + "\n\n" + "\n".join(lines) + "\n"


def render_row_sentence(table: Table, row_name: str, results: dict, out_name: str) -> str:
    row = table.row(row_name)
    column = table.columns[0]
    cell = results.get("cells", {}).get(row_name)
    if cell is None or not cell["runs"]:
        return f"{row_name} of {table.name}: not run yet.\n"
    parts = [f"{mean_std(cell['summary'], metric)} {metric.label.lower()}" for metric in column.metrics]
    devices = sorted({run["device"] for run in cell["runs"].values()})
    return (f"{', '.join(parts)}: mean ± std over {len(cell['runs'])} seeds of {budget_text(cell)}, on "
            f"{'; '.join(devices)} (`{out_name}/{table.name}.json`, row {row.name!r}).\n")


def render_text(text: str, out: Path) -> str:
    def replace(match: re.Match) -> str:
        name = match.group("name")
        table_name, _, row_name = name.partition(":")
        if table_name not in TABLES:
            raise ValueError(f"marker 'reproduce:begin {name}' names no known table")
        table = TABLES[table_name]
        results = load_results(results_path(out, table))
        body = (render_row_sentence(table, row_name, results, out.name) if row_name
                else render_table(table, results, out.name))
        return match.group(1) + body + match.group(4)

    return MARKER.sub(replace, text)


def render_files(out: Path, check: bool = False, root: Path = ROOT) -> list[Path]:
    """Re-render every marked block of RESULTS.md and README.md; returns the files that changed (or would)."""
    changed = []
    for name in DOCUMENTS:
        path = root / name
        if not path.is_file():
            continue
        text = path.read_text()
        rendered = render_text(text, out if out.is_absolute() else root / out)
        if rendered != text:
            changed.append(path)
            if not check:
                path.write_text(rendered)
    return changed
