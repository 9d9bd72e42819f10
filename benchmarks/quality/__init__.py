"""The detection-quality suite (issue 10, item 4): seeded, offline datasets that differ from the demo data in
generator family (``families``), native size, compression and source photos (``photos``), defined in
``specs`` and written by ``writer.build_dataset``; ``benchmarks/case_quality.py`` trains the shipped recipes
and the stock recipe on them. Submodules are imported explicitly (``options`` stays free of torch, so the
runner can read case f's flags cheaply).
"""
