"""The ASGI entry point uvicorn imports (settings from the environment)."""

from milestones.api.app import create_app
from milestones.runtime import tune_collector

app = create_app()
tune_collector()
