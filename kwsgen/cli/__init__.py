from .main import app, main, run

__all__ = ["app", "main", "run"]
