"""Tuning constants of the engine, each with the reason for its value.

Change them here, not at the call sites; configuration that differs per deployment comes from the
environment through :class:`engine.config.Config` instead.
"""

#: SQLite file used when ``DATABASE_URL`` is not set (the embedded default).
SQLITE_FILE = "jingzhi.db"

#: Wall-clock limit for one script, condition or expression run by the sandbox. Real diagram scripts
#: take microseconds; anything near a second is a runaway loop, not work.
SCRIPT_TIME_LIMIT_S = 2.0

#: Memory one diagram script may allocate, in MB, on top of what its sandbox worker process holds after start-up
#: (``RLIMIT_AS``). Real scripts build a few small dicts; 256 MB leaves room for a large form's data many times over.
SCRIPT_MEMORY_LIMIT_MB = 256

#: Upper bound of one RQ job (a whole engine step); the sandbox's own limit normally fires first.
JOB_TIMEOUT_S = 60

#: Time limit of a long job of an edge on an RQ worker (``Jobs.long_running``): a what-if of a month, two setups over
#: five seeds, is ten simulated months of the district (each under ten minutes on two cores).
BACKGROUND_JOB_TIMEOUT_S = 4 * 3600

#: How many times a job that lost a race for an instance (ConcurrentUpdate) is retried.
JOB_RETRIES = 3

#: How many times a job abandoned by its worker (killed, machine lost) is queued again. Its verb either committed
#: or wrote nothing, and the instance's row version refuses a second step from a stale state, so a rerun is safe.
JOB_ABANDONED_RETRIES = 3

#: Seconds after a job's time limit before a job whose worker stopped answering counts as abandoned. A worker runs
#: its job in its own process (SimpleWorker), so a job's lease is its time limit plus this grace.
JOB_ABANDON_GRACE_S = 5

#: Seconds between a worker's looks for abandoned jobs (RQ's registry maintenance; RQ's default is 10 minutes), and
#: the worker's TTL, which bounds how long an idle worker blocks on the queue between those looks.
JOB_MAINTENANCE_S = 10
WORKER_TTL_S = 35

#: Seconds between the ticker's looks for due timers. One second keeps a timer within seconds of its
#: due time; the look is one indexed query, so it costs nearly nothing when nothing is due.
TICK_INTERVAL_S = 1.0

#: Seconds between the ticker's periodic alarm sweeps (devices gone silent, clears held until their case waits for
#: them, alarms whose case ended, cases that failed to start). A few seconds: a held clear verifies its case soon
#: after the case reaches verification, and the sweep's queries stay a small load.
SWEEP_INTERVAL_S = 2.0

#: Instances ticked per look at most, so one look never holds a huge result set.
TICK_BATCH = 200

#: Deployed definitions kept parsed in memory per process (parsing costs tens of milliseconds).
SPEC_CACHE_SIZE = 64

#: Workflows of recent saves kept in memory per process, so the next step on the same instance skips
#: deserializing (valid only while the row version matches; each holds a few tens of KB).
HOT_INSTANCES = 1000

#: Largest single file accepted in a deployment. The biggest real diagram here is under 200 KB.
MAX_DEPLOY_FILE_BYTES = 2 * 1024 * 1024

#: Largest whole file set the designer may send at once (the district's bpmn/ directory is about 400 KB).
MAX_DEPLOY_SET_BYTES = 4 * 1024 * 1024

#: Largest task data accepted when completing a task (see SPIFFWORKFLOW.md: big data makes every step slow).
MAX_TASK_DATA_BYTES = 256 * 1024

#: Property names the engine reads from ``spiffworkflow:properties`` of a task.
PROP_FORM_SCHEMA = "formJsonSchemaFilename"
PROP_FORM_UI_SCHEMA = "formUiSchemaFilename"
PROP_DUE_IN = "dueIn"        # expression giving an ISO 8601 duration ("PT30M") or date-time
PROP_TEAM = "team"           # expression giving the team code; overrides the lane
PROP_STAGE = "stage"         # case stage entered when this element becomes active
PROP_SEPARATE_FROM = "separateFrom"  # ids of tasks whose completer may not complete this one (four eyes)

#: Task data keys copied onto the ``cases`` row whenever they change.
CASE_FIELDS = (
    "scenario", "channel", "device_id", "address", "compound", "lat", "lon",
    "severity", "urgent", "rework_count", "outcome",
)

# -- outbox and notifications (engine/outbox.py) -------------------------------------------------------------------
#: Wait before the first retry of a failed delivery; each further retry waits twice as long (JINGZHI_DELIVERY_BACKOFF_S).
DELIVERY_BACKOFF_S = 5.0
#: The longest wait between two attempts.
DELIVERY_MAX_BACKOFF_S = 3600.0
#: Attempts before a delivery is dead, an incident for /admin/failed (JINGZHI_DELIVERY_MAX_ATTEMPTS): with the
#: defaults about a day of retries, so a department system down overnight still gets everything in the morning.
DELIVERY_MAX_ATTEMPTS = 16
#: How long one attempt may hold its delivery before another sender takes it over (a sender that died).
DELIVERY_LEASE_S = 120.0
#: Events fanned out and deliveries attempted per ticker look.
OUTBOX_BATCH = 200
#: Time limit of one HTTP or SMTP attempt.
DELIVERY_TIMEOUT_S = 10.0
