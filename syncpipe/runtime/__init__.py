"""The imperative shell: work queue, rate limiting, controllers, the syncer process."""
