"""The deploy pipeline, pure: a file set in, a parsed set or a refusal naming each problem out. Nothing here reads or
writes the database (tests/test_layering.py walks the imports): ``engine.catalogue`` and ``engine.definitions`` store
what this accepts."""
