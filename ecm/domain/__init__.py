"""The visit domain: contract rules, visit lifecycle, deadlines, pay and KPIs.

Standard library only (a test enforces it). Nothing here reads a clock: time comes
in as a ``watermark`` parameter, instants are timezone-aware UTC datetimes, durations
are integer seconds and money is ``Decimal``.
"""
