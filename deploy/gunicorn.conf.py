"""Gunicorn settings for the web process (``gunicorn -c deploy/gunicorn.conf.py``)."""

import os

bind = "0.0.0.0:8000"
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))

# Workbook imports run in Celery; a request that needs longer than this is a bug.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5

# Recycle workers now and then so slow leaks (e.g. openpyxl) cannot pile up.
max_requests = 1000
max_requests_jitter = 100

accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")

# Trust X-Forwarded-* from any peer: only nginx / the ingress controller can
# reach port 8000 (no published port in compose, a NetworkPolicy in k8s).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "*")

# The heartbeat file must be on tmpfs: the root filesystem is read-only in k8s.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None

# Gunicorn >= 25.1 opens a control socket under $HOME, which is read-only here.
control_socket_disable = True
