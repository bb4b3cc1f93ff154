"""Jingzhi's engine: process definitions, instances, tasks, timers and messages on SpiffWorkflow.

Imports nothing from ``webui``, ``sensors`` or ``integrations``; they import it.
"""
from .api import Engine, InstanceView
from . import clock
from .config import Config

__all__ = ["Config", "Engine", "InstanceView", "clock"]
