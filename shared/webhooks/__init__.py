"""Webhooks: telling a client's server what happened, signed, at least once.

- ``events.py``: the event kinds, and ``emit``, which writes one delivery row per subscribed
  webhook in the transaction that made the event happen (an outbox: a broker or receiver that is
  away loses nothing);
- ``signing.py``: the ``X-ReceiptFlow-Signature`` header, and its check for receivers;
- ``targets.py``: which URLs may be called (no private, loopback or link-local addresses unless
  ``RECEIPTFLOW_WEBHOOK_ALLOW_PRIVATE``);
- ``delivery.py``: one try of one delivery, and when to try again.

The Celery task that sends them is ``worker/webhooks.py``; the reconciler re-sends deliveries
whose task was lost.
"""
