"""Tests of the JSON API (api/routes/): every route over HTTP with a real Temporal and store, the
authorization matrix, hostile and bad input, fuzzing, logins, and the actor checks the workflows
make for the API."""
