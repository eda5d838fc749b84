"""Signals the archive sends, for components that record what was archived (the database)."""

# Sent after a response (or a revisit) has been written:
# kwargs response=, request=, location= (dict: filename, offset, length, payload_digest, date,
# record_id, revisit, refers_to), spider=.
response_archived = object()

# Sent by a spider for every network response its headless browser received (the page, its
# scripts, the JSON they loaded), so the archive holds what the server sent, not the DOM:
# kwargs response= (a Scrapy Response rebuilt from the browser's, body already decoded),
# request= (the Scrapy Request the browser made), spider=.
browser_response = object()

# Sent by whoever converted an archived response at some cost (an attachment to an HTML
# document, a report page to its clean text), so the archive keeps the result beside it as a
# `conversion` record: kwargs url=, refers_to= (the response's WARC-Record-ID),
# content_type=, text=, converter= (what made it: a conversion is used again only by the same).
document_converted = object()
