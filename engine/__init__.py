"""Jingzhi's engine: process definitions, instances, tasks, timers and messages on SpiffWorkflow.

Imports nothing from ``webui``, ``sensors`` or ``integrations``; they import it, and only this face and
``engine.exceptions`` (tests/test_layering.py enforces it): ``Engine`` with its verbs and the service objects it hands
out (``engine.people``, ``engine.designs``, ``engine.worklist``, ...), the runners of periodic and queued work
(``Jobs``, ``Ticker``), the configuration, the clock, and the plain names below.
"""
from . import clock
from .alarms.alerts import DeadLetterIn, SensorEvent
from .api import Engine, InstanceView
from .clock import DISTRICT_TZ
from .config import Channels, Config, packaged
from .defaults import DELIVERY_TIMEOUT_S
from .deploy.forms import check_schema, check_ui_schema
from .jobs import Jobs, current_engine
from .models import Base as _Base
from .worklist import INBOX_FILTERS
from .map_reads import OPEN_STAGES
from .operators import CHANNELS
from .outbox import DEAD, SUBSCRIBABLE
from .people import DISTRICT_ROLES, LEAD_SUFFIX, ROLES
#: The channels of reports the "same problem?" check compares with open cases nearby (engine/same_problem.py).
from .same_problem import REPORT_CHANNELS as SAME_PROBLEM_CHANNELS
from .ticker import Ticker
from .deploy.validation import unicode_problems

#: The tables' metadata, for a web app's Flask-SQLAlchemy session to share (webui/database.py).
metadata = _Base.metadata

__all__ = ["CHANNELS", "Channels", "Config", "DEAD", "DELIVERY_TIMEOUT_S", "DISTRICT_ROLES", "DISTRICT_TZ",
           "DeadLetterIn", "Engine", "INBOX_FILTERS", "InstanceView", "Jobs", "OPEN_STAGES", "LEAD_SUFFIX", "ROLES", "SAME_PROBLEM_CHANNELS", "SUBSCRIBABLE", "SensorEvent", "Ticker", "check_schema", "check_ui_schema",
           "clock", "current_engine", "metadata", "packaged", "unicode_problems"]
