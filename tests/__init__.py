import os

# dramatiq's consumer sleeps this long (3 s by default, read when dramatiq is imported) before
# it notices it was paused, and the in-process worker pauses after every ``wait_idle``.
os.environ.setdefault("dramatiq_restart_delay", "50")
