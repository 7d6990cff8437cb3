"""The plots of the lesson's claims, one module per claim.

``plots/<claim_id>.py`` draws what ``lessons/<claim_id>.py`` measured: its
``plot(result, out_dir) -> list[Path]`` reads the claim's `Result` and
computes nothing that the report does not already hold. A plot module
imports its claim module, never the other way round; `lessons.plots_of`
finds one by claim id. Every figure is saved through `lessons._plotting.save`,
which keeps legends off the curves.

Nothing here is imported until a plot is drawn, so measuring a claim never
loads matplotlib.
"""
