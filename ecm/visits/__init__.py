"""The service layer: wire events in, domain judgements out, for replay and the worker alike.

``translate`` maps contract-v1 events to domain values and domain results back to
contract output records; ``ledger.VisitLedger`` (visits, deadlines) and
``carers.CarerLedger`` (overlapping visits) are the one handler both ``ecm replay``
(over in-memory stores) and the stream worker (over Faust tables) call.
"""
