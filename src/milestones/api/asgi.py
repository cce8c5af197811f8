"""The ASGI entry point uvicorn imports (settings from the environment)."""

from milestones.api.app import create_app

app = create_app()
