"""tsp3d doctor"""
from __future__ import annotations

import typer


def command() -> None:
    """Show versions and availability of every dependency; exit 0 when the CPU pipeline is usable."""
    from rich.console import Console
    from rich.table import Table

    from tsp3d.doctor import cpu_pipeline_ok, run_checks

    checks = run_checks()
    table = Table(title="tsp3d doctor", show_lines=False)
    for col in ("component", "status", "detail / hint"):
        table.add_column(col)
    for c in checks:
        status = "[green]ok[/green]" if c.ok else ("[red]MISSING[/red]" if c.required else "[yellow]absent[/yellow]")
        detail = c.detail + (f"\n[dim]hint: {c.hint}[/dim]" if c.hint else "")
        table.add_row(c.name + (" *" if c.required else ""), status, detail)
    console = Console()
    console.print(table)
    console.print("* needed by the CPU pipeline (train, export, ONNX Runtime parity)")
    if cpu_pipeline_ok(checks):
        console.print("[green]CPU pipeline usable.[/green]")
        return
    console.print("[red]CPU pipeline NOT usable: fix the MISSING rows above.[/red]")
    raise typer.Exit(1)
