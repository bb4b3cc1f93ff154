"""The alarm layer, above the runtime: sensor alerts recorded in batches (``alerts``), the device registry they are
checked against (``devices``), and what follows a committed batch (``lifecycle``: case starts, held clears, closing,
devices gone silent), which calls the engine's verbs. Nothing below the face imports this package
(tests/test_layering.py); ``Engine`` hands it out as ``engine.alarms`` and ``engine.devices`` (engine/services.py)."""
