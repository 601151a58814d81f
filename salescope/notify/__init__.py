"""Reaching people: digests and alerts through apprise, within each user's row scope.

A plain library (no Dagster): ``targets`` (notify.yml through apprise, redaction), ``catalog`` (the zh/en
strings), ``content`` (what a digest says, read from the serving snapshot), ``render`` (plain text for chat,
short HTML for e-mail), ``log`` (``ops.notification_log`` and the digest state under ``Settings.notify_dir``),
``dispatch`` (at-most-once sending), ``people`` (dashboard users as recipients), ``digest`` and ``alerts``.
The CLI is ``salescope.commands.notify``; the Dagster sensors are in ``orchestration.notify_sensors``.
"""
