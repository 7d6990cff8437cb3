"""The lesson's claims, each measured by a function that returns numbers."""
