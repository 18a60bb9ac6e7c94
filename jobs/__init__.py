"""Background work: the APScheduler heartbeat (escalations, callbacks) and the delivery worker."""
