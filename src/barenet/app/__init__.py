"""The drawing mode's web app (FastAPI); see :mod:`barenet.app.server`."""
