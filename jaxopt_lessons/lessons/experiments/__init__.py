"""The experiments of the longer claims, apart from their claim modules.

``experiments/<claim_id>.py`` runs the compiled sweeps and returns their
numbers; ``lessons/<claim_id>.py`` keeps the claim, its `THRESHOLDS`, its
`Result` and the verdict, and re-exports the constants and measuring
functions the tests and plots read. An experiment module never imports its
claim module. ``experiments/digits.py`` is the digits training program that
five claims share (`lr_sensitivity`, `tradeoff`, `wrong_gradients`,
`lr_free`, `schedule_free`); it imports no claim.
"""
