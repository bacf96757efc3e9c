"""Tests of the web UI (api/ui/): the pages without a browser (httpx with a cookie jar), the lists
both front doors read, handing a case over, and a real browser driving the pages."""
