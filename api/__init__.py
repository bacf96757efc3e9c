"""The FastAPI application: the JSON API (`routes/`) and the web pages (`ui/`), both thin over
the same scope checks (`deps`), the typed client for the workflows (`gateway`) and the views
both doors share (`casework`, `supervision`, `case_archive`). No SQL: reads come from
`store.reads`."""
