"""The job engine's bookkeeping: job leases (one run of a job at a time, anywhere) and the
parts of a run that workers share."""
