"""The app server's entry point, outside the releases: each worker loads the release `current`
points to when it starts, so a graceful restart (HUP) after the switch serves the new release."""
import os
import runpy

_release = os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "current"))
app = runpy.run_path(os.path.join(_release, "webshop.py"), run_name="webshop")["app"]
