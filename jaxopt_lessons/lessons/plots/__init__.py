"""The plots of the lesson's claims, one module per claim.

``plots/<claim_id>.py`` draws what ``lessons/<claim_id>.py`` measured: its
``plot(result, out_dir) -> list[Path]`` reads the claim's `Result` and
computes nothing that the report does not already hold. The claim modules'
own ``plot`` functions call these, so ``lessons.get(claim_id).plot`` stays
the entry point. Every figure is saved through `lessons._plotting.save`,
which keeps legends off the curves.

Nothing here is imported until a plot is drawn, so measuring a claim never
loads matplotlib.
"""
