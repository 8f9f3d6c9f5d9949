"""Packages for the wheel: every Python package under converters/ is found (a new sub-package is never left
out), and the profile and schema folders beside it are installed as its data (converters/mappings,
converters/schemas: see converters/resources.py). Everything else is in pyproject.toml."""

from setuptools import find_packages, setup

DATA_PACKAGES = ["converters.mappings", "converters.schemas"]

setup(packages=find_packages(include=["converters", "converters.*"]) + DATA_PACKAGES)
