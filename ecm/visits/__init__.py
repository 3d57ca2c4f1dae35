"""The service layer of the visit engine: wire events in, domain judgements out.

``translate`` maps contract-v1 events to domain values and domain results back to
contract output records; ``engine.VisitEngine`` holds visit and carer state in memory
and drives the domain for ``ecm replay`` (a stream processor drives the same domain
functions per partition).
"""
