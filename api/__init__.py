"""The FastAPI application: counsellor, partner, supervisor and admin routers."""
