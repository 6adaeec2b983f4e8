"""The scheduler: runs hub.yaml's jobs on their timetables, in this process (asyncio) or on
Celery workers, one run of a job at a time (docs/scheduler.md)."""
