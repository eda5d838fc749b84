"""Signals the archive sends, for components that record what was archived (the database)."""

# Sent after a response (or a revisit) has been written:
# kwargs response=, request=, location= (dict: filename, offset, length, payload_digest, date,
# record_id, revisit, refers_to), spider=.
response_archived = object()
