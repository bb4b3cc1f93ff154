"""How long an id or name taken from a diagram may be. The deploy check refuses longer ones by name, and the tables
size the columns that hold them from here (engine/models.py), so the two cannot drift and deploying reads no table."""
from __future__ import annotations

PROCESS_ID = 200
PROCESS_NAME = 300
ELEMENT_ID = 200
ELEMENT_NAME = 300
LANE_NAME = 120
MESSAGE_NAME = 200
FORM_FILE_NAME = 200
