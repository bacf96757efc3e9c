"""Tests of Lotse as a whole and as it is run: lotse up and the dev server as processes, workers
killed mid-batch, the deployment files against the code, the README, the layers of the tree, and
what the logs keep out."""
