"""Distributed crawls: several workers share one request queue and one seen-set on Redis.

scrapy-redis keeps both under keys named for the run (`nianbao:RUN:portals:requests`,
`nianbao:RUN:portals:dupefilter`). Every worker started for one night shares them; a worker
stopped mid-run finds the queue where it was; the next night starts clean. (One seen-set kept
across nights would make every night after the first find nothing: every URL already "seen".)
The keys expire a few days after a worker finishes, so runs do not pile up in Redis. Politeness
holds across machines too: `HostSlots` keeps the per-host limit for all the run's workers.

A worker that runs out of work stays while another worker of the run is still busy
(`WaitForPeers`): the shared queue is empty for a moment whenever the pages that will fill it are
still being fetched, and a worker started late finds it so at once.

A request taken from the queue is not gone from Redis until its worker is done with it
(`ReliableQueue`, `InFlightRelease`): it moves, in one step, to the worker's in-flight hash, and
leaves it once its response has been through the spider (the links it gave are queued), it
failed for good, or it went back to the queue (a retry, a redirect). A worker killed mid-run
leaves its hash behind; when its liveness key has expired, another worker of the run (or the
same one restarted) puts those requests back in the queue (`WaitForPeers`). So a `kill -9`
loses no page of the night: at worst a page is fetched twice.

Each worker keeps its own --data (its own WARCs and database); `nianbao replay` over all the
workers' WARC folders merges them into one dataset. What the workers know of each page (its
validators, when it was fetched, whether it was dead) is shared in Redis across nights
(`SharedHistory`), so a nightly run skips or asks conditionally for a page whichever worker
fetched it before.

Modules: `keys` (the run's settings and key names), `inflight` (the queue that keeps taken
requests till done), `hosts` (per-host leases), `peers` (waiting for each other, taking up
the dead), `history` (the shared history of pages).
"""
