"""Compiles the UI's message catalogues (webui/translations/*/LC_MESSAGES/messages.po) into the wheel.

Everything else about the package is in pyproject.toml; this only adds the compile step to ``build_py``.
"""
import importlib.util
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithCatalogues(build_py):
    def run(self):
        spec = importlib.util.spec_from_file_location("_catalogues", Path(__file__).parent / "webui" / "catalogues.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.compile_catalogues(Path(__file__).parent / "webui" / "translations")
        super().run()


setup(cmdclass={"build_py": BuildWithCatalogues})
