"""What every Lotse process shares, whatever its front door: the settings (`settings`) and
the one way to connect to Temporal (`temporal`). `api/` and `worker/` both import it; it
imports neither, so the two never import each other."""
