"""Edges around the engine: hotline intake (Open311), notifications, department data exchange."""
