"""The zoo's models. Importing this package registers every model class with the CLI."""

from zoo.aim import AIM, AIMMinus, DALI, DALIF
from zoo.base import GenerativeModule

__all__ = ["AIM", "AIMMinus", "DALI", "DALIF", "GenerativeModule"]
