import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# Move everything loaded at start-up (Django, the apps, the URL and template caches) out
# of the collector's reach: a full (generation 2) collection then scans only what
# requests allocate. Measured with bench/dashboard.py: without it, the collection that a
# province-wide page (5,000 school rows) triggers took 130-190 ms on its own.
gc.collect()
gc.freeze()
