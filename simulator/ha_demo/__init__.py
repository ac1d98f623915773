"""Home Assistant packaging of the demo (see :mod:`simulator.demo`). Development only.

``ble_mesh_sim/`` is a helper integration that ``scripts/develop`` copies into
``config/custom_components/``, renaming ``manifest.json.template`` to ``manifest.json`` on the
way: hassfest validates every ``manifest.json`` in the repository, and this one must never be
mistaken for part of what HACS installs.
"""
