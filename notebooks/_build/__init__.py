"""The notebooks' generator (`build.py`) and their cells (one ``nbNN_*.py`` each)."""
