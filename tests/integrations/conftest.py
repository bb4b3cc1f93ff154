"""The web app's fixtures (district deployed, teams, one user per role) for the Open311 intake tests."""
from tests.webui.conftest import app, cheap_password_hashes, login, seeded  # noqa: F401
