"""The embedded Bluetooth Mesh engine (Mesh Protocol 1.1, Mesh Model 1.1).

Sans-IO: bytes and dataclasses in, bytes, dataclasses and deadlines out. No Home Assistant,
bleak or asyncio import anywhere below this package, so the same code runs in Home Assistant,
in the simulated lights, in the command line decoder and in benchmarks.
"""
