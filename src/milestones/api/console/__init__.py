"""The console (SPEC §18): server-rendered pages for marketers and support, over the
API's own services."""
