"""The FastAPI service, its schemas, auth, persistence of assessments and monitoring."""
